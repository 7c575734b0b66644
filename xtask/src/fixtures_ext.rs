//! `fixtures_ext` task (not implemented yet).

/// Runs the task.
pub fn run(_args: &[String]) -> crate::TaskResult {
    Err("not implemented yet".to_string())
}
