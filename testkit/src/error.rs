//! The testkit's error type: every variant says what was being done when it failed.

/// What went wrong while setting up or checking a scenario.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or process operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A PostgreSQL query failed.
    #[error("{context}: {source}")]
    Sql {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// A chain call (RPC, transaction, contract call) failed.
    #[error("{context}: {message}")]
    Chain {
        /// What was being done.
        context: String,
        /// The error as the RPC or alloy reported it.
        message: String,
    },
    /// A component (anvil, the deploy script, the indexer) did not start or behave as expected.
    #[error("{0}")]
    Setup(String),
    /// The deployments file is unusable.
    #[error(transparent)]
    Deployment(#[from] x402_domain::DeploymentError),
    /// The database disagrees with the chain.
    #[error("database differs from the chain:\n{0}")]
    Mismatch(String),
    /// The node dropped a transaction it had accepted: it will never be mined.
    #[error("{what}: the node dropped transaction {hash} from its pool (it will never be mined)")]
    Dropped {
        /// What the transaction was for.
        what: String,
        /// The transaction.
        hash: alloy::primitives::B256,
    },
    /// A wait ran out of time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: std::time::Duration,
    },
}

/// Result with the testkit [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to errors from the libraries the testkit drives.
pub(crate) trait Context<T> {
    /// Wraps the error with what was being done.
    fn context(self, context: impl Into<String>) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context.into(),
            source,
        })
    }
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Sql {
            context: context.into(),
            source,
        })
    }
}

/// Chain errors come from several alloy error types; they are kept as text.
pub(crate) trait ChainContext<T> {
    /// Wraps the error with what was being done.
    fn chain_context(self, context: impl Into<String>) -> Result<T>;
}

impl<T, E: std::fmt::Display> ChainContext<T> for std::result::Result<T, E> {
    fn chain_context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Chain {
            context: context.into(),
            message: e.to_string(),
        })
    }
}
