//! The two I/O backends every scenario runs against.

use std::fmt;

/// ringmasq's packet I/O backend (`--io-backend=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// io_uring workers.
    Uring,
    /// epoll + recvmmsg fallback.
    Epoll,
}

impl Backend {
    /// Both backends, in the order scenarios run them.
    pub const ALL: [Backend; 2] = [Backend::Uring, Backend::Epoll];

    /// The value of `--io-backend=`.
    pub fn as_arg(self) -> &'static str {
        match self {
            Backend::Uring => "uring",
            Backend::Epoll => "epoll",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_arg())
    }
}

/// Runs `scenario` once per backend, stopping at the first failure (which names the backend).
pub fn for_each_backend<E: fmt::Display>(
    mut scenario: impl FnMut(Backend) -> Result<(), E>,
) -> Result<(), String> {
    for b in Backend::ALL {
        scenario(b).map_err(|e| format!("backend {b}: {e}"))?;
    }
    Ok(())
}

/// Declares one `#[test]` per backend for each scenario function `fn name(Backend) -> anyhow::Result<()>`:
/// `backend_tests!(name)` creates `name::uring` and `name::epoll`, so failures show per backend
/// and both run in parallel.
#[macro_export]
macro_rules! backend_tests {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn uring() -> ::anyhow::Result<()> {
                    super::$scenario($crate::Backend::Uring)
                }

                #[test]
                fn epoll() -> ::anyhow::Result<()> {
                    super::$scenario($crate::Backend::Epoll)
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_both_and_names_failure() {
        let mut seen = Vec::new();
        let r = for_each_backend(|b| {
            seen.push(b);
            if b == Backend::Epoll {
                Err("boom")
            } else {
                Ok(())
            }
        });
        assert_eq!(seen, Backend::ALL.to_vec());
        assert_eq!(r.unwrap_err(), "backend epoll: boom");
    }
}
