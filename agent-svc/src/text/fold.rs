//! Folding for matching: lower case, German umlauts and ß spelled out (ä → ae, ß → ss) and
//! common Latin accents dropped, so "Zählerstand", "ZAEHLERSTAND" and "zaehlerstand" compare
//! equal. `Folded` keeps the original offset of every folded byte so that a match in the
//! folded text can be reported as a span of the original.

/// A folded copy of a text with the original byte offset of each folded byte.
#[derive(Debug, Clone)]
pub struct Folded {
    pub text: String,
    origin: Vec<usize>,
}

impl Folded {
    pub fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len() + 1);
        let mut buf = [0u8; 4];
        for (at, c) in original.char_indices() {
            let before = text.len();
            match spelled(c) {
                Some(s) => text.push_str(s),
                None => {
                    for lower in c.to_lowercase() {
                        text.push_str(lower.encode_utf8(&mut buf));
                    }
                }
            }
            origin.extend(std::iter::repeat_n(at, text.len() - before));
        }
        origin.push(original.len());
        Self { text, origin }
    }

    /// The original offset of folded offset `at` (`text.len()` maps to the original's end).
    pub fn origin(&self, at: usize) -> usize {
        self.origin[at.min(self.origin.len() - 1)]
    }

    /// The original span of a folded span; the end maps past the last folded byte's char.
    pub fn span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.origin(start);
        if end == start {
            return (s, s);
        }
        let last = self.origin(end - 1);
        let mut e = self.origin(end);
        if e <= last {
            e = last + 1;
        }
        (s, e)
    }
}

fn spelled(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' | 'Ä' => "ae",
        'ö' | 'Ö' => "oe",
        'ü' | 'Ü' => "ue",
        'ß' | 'ẞ' => "ss",
        'á' | 'à' | 'â' | 'Á' | 'À' | 'Â' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' => "e",
        'í' | 'ì' | 'î' | 'Í' => "i",
        'ó' | 'ò' | 'ô' | 'Ó' => "o",
        'ú' | 'ù' | 'û' | 'Ú' => "u",
        'ç' | 'Ç' => "c",
        'ñ' | 'Ñ' => "n",
        _ => return None,
    })
}

/// The folded form of a text, for matching only.
pub fn fold(text: &str) -> String {
    Folded::new(text).text
}

/// A word: a maximal run of letters and digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
}

/// The words of a text in order. Punctuation and symbols other than `€` separate words;
/// `€` is a word of its own because it is evidence for amounts.
pub fn words(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(at);
            continue;
        }
        if let Some(s) = start.take() {
            out.push(Token { start: s, end: at, text: &text[s..at] });
        }
        if c == '€' {
            let end = at + c.len_utf8();
            out.push(Token { start: at, end, text: &text[at..end] });
        }
    }
    if let Some(s) = start {
        out.push(Token { start: s, end: text.len(), text: &text[s..] });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_umlauts_case_and_accents() {
        assert_eq!(fold("Zählerstand GRÜßE Lucía"), "zaehlerstand gruesse lucia");
        assert_eq!(fold("Straße"), "strasse");
    }

    #[test]
    fn maps_folded_spans_back_to_the_original() {
        let original = "Die Zählernummer ist X";
        let folded = Folded::new(original);
        let at = folded.text.find("zaehlernummer").unwrap();
        let (s, e) = folded.span(at, at + "zaehlernummer".len());
        assert_eq!(&original[s..e], "Zählernummer");
        let at = folded.text.find('x').unwrap();
        assert_eq!(&original[folded.span(at, at + 1).0..], "X");
    }

    #[test]
    fn splits_words_and_keeps_the_euro_sign() {
        let ws: Vec<_> = words("Abschlag: 85€, Kd.-Nr. 12").into_iter().map(|t| t.text).collect();
        assert_eq!(ws, ["Abschlag", "85", "€", "Kd", "Nr", "12"]);
    }
}
