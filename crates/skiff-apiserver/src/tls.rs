//! First-start credentials: a CA, a serving certificate signed by it, the admin client
//! certificate and the admin bearer token, all under the data dir and reused on later starts
//! so kubeconfigs stay valid. Clients authenticate with either: a certificate signed by the
//! CA (checked in the TLS handshake) or the token.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{io_err, SetupError};

/// Everything the server needs to serve TLS and check tokens.
pub(crate) struct Credentials {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
    pub token: String,
    /// The admin client certificate (PEM) and its key, for the kubeconfig.
    pub admin_cert_pem: String,
    pub admin_key_pem: String,
}

/// Marks a request that came over a connection with a client certificate the CA signed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientCert;

/// The CA's subject. It is rebuilt from these constants (plus the stored key) to sign, so it
/// must never change or newly signed serving certs would not chain to the stored CA cert.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "skiff-ca");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Names the serving cert is valid for: loopback, the bind address, and the in-cluster names
/// clients will use once pods talk to the API.
fn serving_names(bind: std::net::IpAddr) -> Vec<String> {
    let mut names: Vec<String> = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "127.0.0.1",
        "::1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !bind.is_unspecified() && !names.contains(&bind.to_string()) {
        names.push(bind.to_string());
    }
    names
}

/// Load the credentials from `<data>/tls` and `<data>/token`, creating whatever is missing.
pub(crate) fn load_or_create(
    data_dir: &Path,
    bind: std::net::IpAddr,
) -> Result<Credentials, SetupError> {
    let tls = data_dir.join("tls");
    fs::create_dir_all(&tls).map_err(io_err("create", &tls))?;
    fs::set_permissions(&tls, fs::Permissions::from_mode(0o700)).map_err(io_err("chmod", &tls))?;

    let (ca_cert, ca_key) = (tls.join("ca.crt"), tls.join("ca.key"));
    let ca_key_pair = if ca_cert.exists() && ca_key.exists() {
        KeyPair::from_pem(&read(&ca_key)?).map_err(|e| SetupError::Cert {
            path: ca_key.clone(),
            reason: e.to_string(),
        })?
    } else {
        let key = KeyPair::generate().map_err(cert_err(&ca_key))?;
        let cert = ca_params().self_signed(&key).map_err(cert_err(&ca_cert))?;
        write_private(&ca_key, key.serialize_pem().as_bytes())?;
        write_file(&ca_cert, cert.pem().as_bytes(), 0o644)?;
        key
    };
    let ca_pem = read(&ca_cert)?;

    // The serving cert is reissued when the set of names changes (a new bind address), and
    // otherwise reused.
    let names = serving_names(bind);
    let (srv_cert, srv_key, srv_names) = (
        tls.join("server.crt"),
        tls.join("server.key"),
        tls.join("server.names"),
    );
    let wanted_names = names.join("\n");
    let current = fs::read_to_string(&srv_names).ok();
    if !(srv_cert.exists() && srv_key.exists() && current.as_deref() == Some(&wanted_names)) {
        let key = KeyPair::generate().map_err(cert_err(&srv_key))?;
        let mut params = CertificateParams::new(names).map_err(cert_err(&srv_cert))?;
        params
            .distinguished_name
            .push(DnType::CommonName, "skiff-apiserver");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = Issuer::new(ca_params(), &ca_key_pair);
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(cert_err(&srv_cert))?;
        write_private(&srv_key, key.serialize_pem().as_bytes())?;
        write_file(
            &srv_cert,
            format!("{}{}", cert.pem(), ca_pem).as_bytes(),
            0o644,
        )?;
        write_file(&srv_names, wanted_names.as_bytes(), 0o644)?;
    }

    // The admin client certificate: in the system:masters group, like kubeadm's admin.conf.
    let (adm_cert, adm_key) = (tls.join("admin.crt"), tls.join("admin.key"));
    if !(adm_cert.exists() && adm_key.exists()) {
        let key = KeyPair::generate().map_err(cert_err(&adm_key))?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "skiff-admin");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "system:masters");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let issuer = Issuer::new(ca_params(), &ca_key_pair);
        let cert = params
            .signed_by(&key, &issuer)
            .map_err(cert_err(&adm_cert))?;
        write_private(&adm_key, key.serialize_pem().as_bytes())?;
        write_file(&adm_cert, cert.pem().as_bytes(), 0o644)?;
    }

    let server_config = rustls_config(&srv_cert, &srv_key, &ca_cert)?;

    let token_path = data_dir.join("token");
    let token = match fs::read_to_string(&token_path) {
        Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
        _ => {
            let token = random_hex(32);
            write_private(&token_path, token.as_bytes())?;
            token
        }
    };
    Ok(Credentials {
        ca_pem,
        server_config,
        token,
        admin_cert_pem: read(&adm_cert)?,
        admin_key_pem: read(&adm_key)?,
    })
}

fn rustls_config(
    cert: &Path,
    key: &Path,
    ca: &Path,
) -> Result<Arc<rustls::ServerConfig>, SetupError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| SetupError::Cert {
            path: cert.to_path_buf(),
            reason: e.to_string(),
        })?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| SetupError::Cert {
        path: key.to_path_buf(),
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca_cert in CertificateDer::pem_file_iter(ca)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| SetupError::Cert {
            path: ca.to_path_buf(),
            reason: e.to_string(),
        })?
    {
        roots.add(ca_cert).map_err(|e| SetupError::Cert {
            path: ca.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    // A certificate is optional (token clients send none), but one that is sent must chain
    // to our CA or the handshake fails.
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| SetupError::Cert {
        path: ca.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_client_cert_verifier(verifier)
                .with_single_cert(certs, key_der)
        })
        .map_err(|e| SetupError::Cert {
            path: cert.to_path_buf(),
            reason: e.to_string(),
        })?;
    // HTTP/1.1 only in this slice: watches stream as chunked responses, which every client
    // (kubectl included) accepts; h2 comes with multiplexed watches later.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `n` random bytes from the OS, hex encoded.
pub(crate) fn random_hex(n: usize) -> String {
    let bytes = random_bytes(n);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut buf = vec![0u8; n];
    // The OS random source failing is not something a server can recover from.
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// Write the admin kubeconfig (0600: it holds the client key and the token). The user
/// authenticates with the client certificate; the token is there for clients that cannot
/// present one.
pub(crate) fn write_kubeconfig(
    path: &Path,
    server: &str,
    creds: &Credentials,
) -> Result<(), SetupError> {
    use base64::Engine;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    }
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (ca, cert, key, token) = (
        b64(&creds.ca_pem),
        b64(&creds.admin_cert_pem),
        b64(&creds.admin_key_pem),
        &creds.token,
    );
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: skiff\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: skiff-admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n    token: {token}\ncontexts:\n- name: skiff\n  context:\n    cluster: skiff\n    user: skiff-admin\n    namespace: default\ncurrent-context: skiff\n"
    );
    write_private(path, text.as_bytes())
}

fn read(path: &Path) -> Result<String, SetupError> {
    fs::read_to_string(path).map_err(io_err("read", path))
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), SetupError> {
    write_file(path, data, 0o600)
}

/// Write through a temp file and rename, so a crash never leaves a half-written key behind.
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), SetupError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err("create", &tmp))?;
    f.write_all(data).map_err(io_err("write", &tmp))?;
    f.sync_all().map_err(io_err("sync", &tmp))?;
    // `mode` only applies to new files; force it for a pre-existing one too.
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(io_err("chmod", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("rename", path))
}

fn cert_err(path: &Path) -> impl FnOnce(rcgen::Error) -> SetupError {
    let path: PathBuf = path.to_path_buf();
    move |e| SetupError::Cert {
        path,
        reason: e.to_string(),
    }
}
