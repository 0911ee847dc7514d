//! `breakglass demo`: every ceremony on a throwaway vault, no prompts.
pub fn run(_dir: Option<std::path::PathBuf>, _keep: bool) -> breakglass::Result<u8> {
    Err(breakglass::Error::Usage("demo: being written".into()))
}
