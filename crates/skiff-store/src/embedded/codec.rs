//! Byte layouts of the embedded store's records. Hand-rolled (no serde) because they are tiny,
//! fixed and on the hot path of every write; a leading tag byte leaves room to change them.

use crate::types::KeyValue;

const TAG_PUT: u8 = 0;
const TAG_TOMBSTONE: u8 = 1;
const PUT_HEADER: usize = 1 + 8 + 8 + 8;

/// One entry of the `hist` table: what a key became at one revision.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Record<'a> {
    Put {
        create_revision: i64,
        version: i64,
        lease: i64,
        value: &'a [u8],
    },
    Tombstone,
}

impl Record<'_> {
    pub(super) fn is_put(&self) -> bool {
        matches!(self, Record::Put { .. })
    }

    /// The full key-value for `key` at `mod_revision`, or `None` for a tombstone.
    pub(super) fn to_kv(&self, key: &[u8], mod_revision: i64, keys_only: bool) -> Option<KeyValue> {
        match *self {
            Record::Tombstone => None,
            Record::Put {
                create_revision,
                version,
                lease,
                value,
            } => Some(KeyValue {
                key: key.to_vec(),
                value: if keys_only {
                    Vec::new()
                } else {
                    value.to_vec()
                },
                create_revision,
                mod_revision,
                version,
                lease,
            }),
        }
    }
}

pub(super) fn encode_put(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(PUT_HEADER + kv.value.len());
    out.push(TAG_PUT);
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.version.to_le_bytes());
    out.extend_from_slice(&kv.lease.to_le_bytes());
    out.extend_from_slice(&kv.value);
    out
}

pub(super) fn encode_tombstone() -> &'static [u8] {
    &[TAG_TOMBSTONE]
}

pub(super) fn decode(bytes: &[u8]) -> Option<Record<'_>> {
    match *bytes.first()? {
        TAG_TOMBSTONE if bytes.len() == 1 => Some(Record::Tombstone),
        TAG_PUT if bytes.len() >= PUT_HEADER => {
            let int = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
            Some(Record::Put {
                create_revision: int(1),
                version: int(9),
                lease: int(17),
                value: &bytes[PUT_HEADER..],
            })
        }
        _ => None,
    }
}

/// The `log` table's value: the keys one revision changed, in the order they changed.
pub(super) fn encode_keys<'a>(keys: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for key in keys {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
    }
    out
}

pub(super) fn decode_keys(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut keys = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        keys.push(bytes.get(4..4 + len)?);
        bytes = &bytes[4 + len..];
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_round_trips() {
        let kv = KeyValue {
            key: b"k".to_vec(),
            value: b"hello".to_vec(),
            create_revision: 3,
            mod_revision: 9,
            version: 4,
            lease: 77,
        };
        let bytes = encode_put(&kv);
        let record = decode(&bytes).unwrap();
        assert_eq!(record.to_kv(b"k", 9, false).unwrap(), kv);
        assert_eq!(decode(encode_tombstone()), Some(Record::Tombstone));
        assert_eq!(decode(&bytes[..5]), None);
    }

    #[test]
    fn key_lists_round_trip() {
        let keys: Vec<&[u8]> = vec![b"a", b"", b"long/key"];
        let bytes = encode_keys(keys.iter().copied());
        assert_eq!(decode_keys(&bytes).unwrap(), keys);
        assert_eq!(decode_keys(&bytes[..3]), None);
    }
}
