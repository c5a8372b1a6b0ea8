#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pull_through_fuzz::repo_url(data));
