//! Parsing a closed set of names, with an error that lists what would have been accepted.

/// A name that is not one of a closed set (a class, a role).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a {what}; expected one of {}", .expected.join(", "))]
pub struct UnknownName {
    /// What kind of name was expected ("class", "role").
    pub what: &'static str,
    /// What was given.
    pub given: String,
    /// Every accepted name.
    pub expected: Vec<&'static str>,
}

/// Finds the member of `all` whose `name` is `given`.
pub(crate) fn parse<T: Copy>(
    what: &'static str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
    given: &str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|&m| name(m) == given)
        .ok_or_else(|| UnknownName {
            what,
            given: given.to_string(),
            expected: all.iter().map(|&m| name(m)).collect(),
        })
}
