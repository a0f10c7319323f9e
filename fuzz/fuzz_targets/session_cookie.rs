//! The `Cookie` header reader every cookie of Rampart goes through (the session id, the
//! remember cookie, `XSRF-TOKEN`): never panics; a value it returns was in one of the headers
//! after `name=`, holds no `;`, and is the first such pair; a value taken as a session id is
//! one the session store could have issued (it round-trips through its text form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart::fuzzing::cookie_value;

const NAMES: [&str; 3] = ["session", "remember_token", "XSRF-TOKEN"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let headers: Vec<&[u8]> = rest.split(|b| *b == b'\n').collect();
    let (value, is_id) = cookie_value(&headers, name);
    let Some(value) = value else {
        assert!(!is_id);
        return;
    };
    assert!(!value.contains(';'), "{value:?}");
    let needle = format!("{name}=");
    let found = headers
        .iter()
        .filter_map(|h| std::str::from_utf8(h).ok())
        .any(|h| h.contains(&needle) && h.contains(value.as_str()));
    assert!(found, "{name}={value:?} not in {headers:?}");
    if is_id {
        let id: tower_sessions::session::Id = value.parse().expect("taken as an id");
        assert_eq!(id.to_string(), value, "session id not canonical");
    }
});
