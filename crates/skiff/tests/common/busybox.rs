//! busybox pushed to a throwaway loopback registry, for tests that pull.

use skiff_image::local_registry::LocalRegistry;
use skiff_image::registries::RegistriesConfig;
use skiff_image::registry::Client;
use skiff_image::Reference;

/// The applets the tests use.
pub const APPLETS: &[&str] = &[
    "sh", "echo", "ls", "cat", "sleep", "tty", "id", "pwd", "true", "false", "env", "httpd",
    "wget", "ip", "mkdir", "hostname", "nc", "tar", "touch", "rm", "grep", "head", "tail", "ps",
    "kill", "dd", "date", "test", "[", "printf", "stat", "wc", "mount", "seq", "cp", "mv",
];

/// Push busybox to `registry` as `<host>/<repo>:<tag>`; returns that name.
pub fn push(registry: &LocalRegistry, repo: &str, tag: &str) -> String {
    let name = format!("{}/{repo}", registry.host());
    let client = Client::new(RegistriesConfig::default(), Default::default());
    skiff_image::synth::busybox(APPLETS)
        .expect("busybox image")
        .push(&client, &Reference::parse(&name).unwrap(), tag)
        .expect("push busybox to the loopback registry");
    format!("{name}:{tag}")
}
