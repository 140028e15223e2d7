//! AI agents as documents: the vendor's AiAgent JSON, stored whole, changed by deep merge.

pub mod merge;
