//! The footgun catalog, by its historical path: the docs and the checks live together in
//! [`crate::footguns`], one file per footgun; this module re-exports its registry.

pub use crate::footguns::{Footgun, RuleId, catalog, footgun};
