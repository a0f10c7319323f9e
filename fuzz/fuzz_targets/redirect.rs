//! Open-redirect validation of `next` (`rampart::redirect`), against the WHATWG URL parser of
//! the `url` crate as a model of the browser: whenever Rampart accepts a value, the `Location`
//! it would send (`quote_location`) resolved against the request URL stays on the request's
//! host (or a host the policy allows), with an http(s) scheme and no credentials.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::redirect::{RedirectPolicy, is_safe_with, quote_location};
use url::Url;

const HOSTS: [&str; 4] = [
    "localhost:8000",
    "app.example.com",
    "[::1]:8080",
    "127.0.0.1",
];

fn policies() -> [RedirectPolicy; 3] {
    let mut subdomains = RedirectPolicy::default();
    subdomains.server_name = Some("app.example.com".into());
    subdomains.allow_subdomains = true;
    let mut listed = RedirectPolicy::default();
    listed.base_domain = Some("example.com".into());
    listed.allowed_subdomains = vec!["app".into(), ".".into()];
    [RedirectPolicy::default(), subdomains, listed]
}

/// The hosts a policy allows besides the request's own.
fn policy_allows(index: usize, host: &str) -> bool {
    match index {
        1 => host == "app.example.com" || host.ends_with(".app.example.com"),
        2 => host == "app.example.com" || host == "example.com",
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(next) = std::str::from_utf8(rest) else {
        return;
    };
    let host = HOSTS[usize::from(pick) % HOSTS.len()];
    let request = Url::parse(&format!("http://{host}/login?next=x")).expect("valid base");
    let quoted = quote_location(next);
    assert!(quoted.is_ascii(), "Location not ASCII: {quoted:?}");
    for (index, policy) in policies().iter().enumerate() {
        if !is_safe_with(next, Some(host), policy) {
            continue;
        }
        let target = request
            .join(&quoted)
            .unwrap_or_else(|e| panic!("accepted {next:?} does not resolve ({e}): {quoted:?}"));
        assert!(
            matches!(target.scheme(), "http" | "https"),
            "accepted {next:?} -> {target}"
        );
        assert!(
            target.username().is_empty() && target.password().is_none(),
            "accepted {next:?} -> {target} (credentials)"
        );
        let target_host = target.host_str().unwrap_or_default();
        let same = target_host == request.host_str().unwrap_or_default()
            && target
                .port()
                .is_none_or(|p| request.port_or_known_default() == Some(p));
        assert!(
            same || (target.port().is_none() && policy_allows(index, target_host)),
            "policy {index}: accepted {next:?} from {host} -> {target}"
        );
    }
});
