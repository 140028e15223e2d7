//! Message text shared by intent detection and parameter extraction: the newest part of a
//! reply or forward, its signature and letterhead, folding for matching, words and sentences.
//! Everything here is pure and works on byte offsets into the text it was given.

pub mod fold;
pub mod layout;
pub mod quote;
pub mod sentences;

pub use fold::{Folded, Token, fold, words};
pub use layout::{Layout, layout, split_signature};
pub use quote::newest_part;
pub use sentences::{Sentence, sentences};
