//! Service cluster IPs and node ports. Each allocation is a key in the store
//! (`/registry/ranges/serviceips/<ip>`, `/registry/ranges/servicenodeports/<port>`) claimed in
//! the same transaction that writes the Service, so two servers on one etcd can never hand
//! out the same address, and a deleted Service frees its addresses atomically.

use std::net::Ipv4Addr;

use serde_json::{json, Value};

use crate::status::{ApiError, Cause};

/// The service network, as k3s defaults it: 10.43.0.0/16. `.1` is kept for the API server's
/// own `kubernetes` Service, as in Kubernetes.
const SERVICE_NET: [u8; 2] = [10, 43];
pub(crate) const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

fn ip_key(ip: &str) -> Vec<u8> {
    format!("/registry/ranges/serviceips/{ip}").into_bytes()
}

fn port_key(port: u64) -> Vec<u8> {
    format!("/registry/ranges/servicenodeports/{port}").into_bytes()
}

fn random_u32() -> u32 {
    let b = crate::tls::random_bytes(4);
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn in_service_net(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    o[..2] == SERVICE_NET && !(o[2] == 0 && o[3] <= 1) && !(o[2] == 255 && o[3] == 255)
}

/// The keys a Service holds: its cluster IP and node ports.
pub(crate) fn held_keys(svc: &Value) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    if let Some(ip) = svc["spec"]["clusterIP"].as_str() {
        if ip.parse::<Ipv4Addr>().is_ok_and(in_service_net) {
            keys.push(ip_key(ip));
        }
    }
    for port in svc["spec"]["ports"].as_array().into_iter().flatten() {
        if let Some(p) = port["nodePort"].as_u64() {
            keys.push(port_key(p));
        }
    }
    keys
}

fn wants_cluster_ip(svc: &Value) -> bool {
    svc["spec"]["type"].as_str() != Some("ExternalName")
}

fn wants_node_ports(svc: &Value) -> bool {
    match svc["spec"]["type"].as_str() {
        Some("NodePort") => true,
        Some("LoadBalancer") => svc["spec"]["allocateLoadBalancerNodePorts"] != json!(false),
        _ => false,
    }
}

/// Store keys a write claims (creates) and frees (deletes).
#[derive(Debug)]
pub(crate) struct Claims {
    pub claim: Vec<Vec<u8>>,
    pub free: Vec<Vec<u8>>,
}

/// Fill in the cluster IP and node ports a Service needs, keeping what `old` (on update)
/// already holds when the client left them out, as Kubernetes does. Returns the keys newly
/// claimed (to be created in the write's transaction) and the keys to free.
pub(crate) fn assign(svc: &mut Value, old: Option<&Value>) -> Result<Claims, ApiError> {
    let held_before = old.map(held_keys).unwrap_or_default();
    let name = svc["metadata"]["name"].as_str().unwrap_or("").to_string();
    if !svc["spec"].is_object() {
        return Ok(Claims {
            claim: Vec::new(),
            free: held_before,
        });
    }
    if let Some(old) = old {
        if svc["spec"]["clusterIP"].as_str().unwrap_or("").is_empty()
            && old["spec"]["clusterIP"].is_string()
            && wants_cluster_ip(svc)
        {
            svc["spec"]["clusterIP"] = old["spec"]["clusterIP"].clone();
            svc["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
        }
        if wants_node_ports(svc) {
            let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
            for port in svc["spec"]["ports"].as_array_mut().into_iter().flatten() {
                if port["nodePort"].is_null() {
                    if let Some(p) = old_ports.iter().find(|o| o["port"] == port["port"]) {
                        port["nodePort"] = p["nodePort"].clone();
                    }
                }
            }
        }
    }
    if wants_cluster_ip(svc) {
        match svc["spec"]["clusterIP"].as_str().unwrap_or("") {
            "" => {
                let ip = random_service_ip();
                svc["spec"]["clusterIP"] = json!(ip);
                svc["spec"]["clusterIPs"] = json!([ip]);
            }
            "None" => {
                svc["spec"]["clusterIPs"] = json!(["None"]);
            }
            given => match given.parse::<Ipv4Addr>() {
                Ok(ip) if in_service_net(ip) => {
                    svc["spec"]["clusterIPs"] = json!([given]);
                }
                _ => {
                    return Err(ApiError::invalid(
                        "Service",
                        &name,
                        vec![Cause {
                            reason: "FieldValueInvalid",
                            field: "spec.clusterIP".into(),
                            message: format!(
                                "Invalid value: {given:?}: provided IP is not in the valid \
                                 range. The range of valid IPs is 10.43.0.0/16"
                            ),
                        }],
                    ))
                }
            },
        }
    } else if let Some(spec) = svc["spec"].as_object_mut() {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
    if wants_node_ports(svc) {
        for (i, port) in svc["spec"]["ports"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .enumerate()
        {
            match port["nodePort"].as_u64() {
                None => {
                    let span = u32::from(NODE_PORTS.end() - NODE_PORTS.start()) + 1;
                    port["nodePort"] = json!(u32::from(*NODE_PORTS.start()) + random_u32() % span);
                }
                Some(p) if u16::try_from(p).is_ok_and(|p| NODE_PORTS.contains(&p)) => {}
                Some(p) => {
                    return Err(ApiError::invalid(
                        "Service",
                        &name,
                        vec![Cause {
                            reason: "FieldValueInvalid",
                            field: format!("spec.ports[{i}].nodePort"),
                            message: format!(
                                "Invalid value: {p}: provided port is not in the valid range. \
                                 The range of valid ports is 30000-32767"
                            ),
                        }],
                    ))
                }
            }
        }
    } else {
        for port in svc["spec"]["ports"].as_array_mut().into_iter().flatten() {
            if let Some(p) = port.as_object_mut() {
                p.remove("nodePort");
            }
        }
    }
    let held_after = held_keys(svc);
    let claim = held_after
        .iter()
        .filter(|k| !held_before.contains(k))
        .cloned()
        .collect();
    let free = held_before
        .into_iter()
        .filter(|k| !held_after.contains(k))
        .collect();
    Ok(Claims { claim, free })
}

fn random_service_ip() -> String {
    loop {
        let r = random_u32();
        let ip = Ipv4Addr::new(SERVICE_NET[0], SERVICE_NET[1], (r >> 8) as u8, r as u8);
        if in_service_net(ip) {
            return ip.to_string();
        }
    }
}

/// The error for a claim that lost to another Service (only possible for addresses the
/// client chose; random picks are retried by the caller).
pub(crate) fn already_allocated(svc: &Value) -> ApiError {
    ApiError::invalid(
        "Service",
        svc["metadata"]["name"].as_str().unwrap_or(""),
        vec![Cause {
            reason: "FieldValueInvalid",
            field: "spec".into(),
            message: "Invalid value: the provided cluster IP or node port is already allocated; \
                      leave spec.clusterIP and nodePort empty to get free ones"
                .into(),
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_and_keeps_on_update() {
        let mut svc = json!({"metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        let Claims { claim, free } = assign(&mut svc, None).unwrap();
        assert_eq!(claim.len(), 2);
        assert!(free.is_empty());
        let ip: Ipv4Addr = svc["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(in_service_net(ip));
        let port = svc["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        assert!(NODE_PORTS.contains(&(port as u16)));
        // An apply without the allocated fields keeps them.
        let mut again = json!({"metadata": {"name": "web"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        let Claims { claim, free } = assign(&mut again, Some(&svc)).unwrap();
        assert!(claim.is_empty() && free.is_empty());
        assert_eq!(again["spec"]["clusterIP"], svc["spec"]["clusterIP"]);
        // Switching to ClusterIP frees the node port.
        let mut cip = json!({"metadata": {"name": "web"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
        let Claims { claim, free } = assign(&mut cip, Some(&svc)).unwrap();
        assert!(claim.is_empty());
        assert_eq!(free, vec![port_key(port)]);
        let mut bad = json!({"metadata": {"name": "x"}, "spec": {"clusterIP": "192.168.1.1", "ports": [{"port": 1}]}});
        assert_eq!(
            assign(&mut bad, None).unwrap_err().causes[0].field,
            "spec.clusterIP"
        );
    }
}
