//! Sentence segmentation with byte spans. A sentence ends at `.`, `!`, `?` or `;` followed by
//! white space, at a blank line, and at a line break unless the line visibly continues (no
//! final punctuation and the next line starts in lower case). A dot does not end a sentence
//! after a known abbreviation ("z.B.", "Nr.", "ca."), inside a number or date ("23.418,7",
//! "12.10.2026") or after a German ordinal that a month or a lower-case word follows
//! ("1. November", "zum 15. statt").

/// One sentence: `text` is `&source[start..end]`, trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sentence<'a> {
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
}

const ABBREVIATIONS: &[&str] = &[
    "z", "b", "bzw", "ca", "nr", "no", "dr", "prof", "str", "usw", "ggf", "evtl", "inkl", "zzgl",
    "bspw", "vgl", "etc", "mr", "mrs", "ms", "st", "approx", "tel", "kd", "geb", "abs", "i", "a",
    "u", "d", "h", "v", "e", "m", "o", "s", "hr", "fr", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "okt", "oct", "nov", "dez", "dec", "vs", "min", "max", "mio", "mrd",
    "co", "ltd", "inh", "mfg", "lg", "dt", "ref",
];

const MONTH_WORDS: &[&str] = &[
    "januar",
    "jänner",
    "februar",
    "märz",
    "maerz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
    "january",
    "february",
    "march",
    "may",
    "june",
    "july",
    "october",
    "december",
    "jan",
    "feb",
    "mär",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "okt",
    "oct",
    "nov",
    "dez",
    "dec",
];

pub fn sentences(text: &str) -> Vec<Sentence<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let cut = match b {
            b'!' | b'?' | b';' => followed_by_space(bytes, i),
            b'.' => followed_by_space(bytes, i) && !dot_continues(text, i),
            b'\n' => line_ends_sentence(text, i),
            _ => false,
        };
        if cut {
            push(text, start, i + 1, &mut out);
            start = i + 1;
        }
        i += 1;
    }
    push(text, start, text.len(), &mut out);
    out
}

fn push<'a>(text: &'a str, start: usize, end: usize, out: &mut Vec<Sentence<'a>>) {
    let raw = &text[start..end];
    let lead = raw.len() - raw.trim_start().len();
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return;
    }
    let s = start + lead;
    out.push(Sentence { start: s, end: s + trimmed.len(), text: trimmed });
}

fn followed_by_space(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())
}

/// Whether the dot at `i` belongs to an abbreviation or an ordinal rather than ending a sentence.
fn dot_continues(text: &str, i: usize) -> bool {
    let before = &text[..i];
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(0, |(at, c)| at + c.len_utf8());
    let word = &before[word_start..];
    if word.is_empty() {
        return false;
    }
    let next = next_word(&text[i + 1..]);
    if word.chars().all(|c| c.is_ascii_digit()) {
        // "1. November", "zum 15. statt": a day number, not the end of a sentence.
        return word.len() <= 2
            && next.is_some_and(|n| {
                n.chars().next().is_some_and(char::is_lowercase)
                    || MONTH_WORDS.contains(&n.to_lowercase().as_str())
            });
    }
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        // A single capital letter before a dot is an initial ("H. Yilmaz") or an abbreviation.
        return true;
    }
    // "z.B." and "i.A.": a dot right before the word means an abbreviation with inner dots.
    word_start > 0 && text[..word_start].ends_with('.') && word.chars().count() <= 2
}

fn next_word(rest: &str) -> Option<&str> {
    let rest = rest.trim_start_matches([' ', '\t']);
    if rest.starts_with('\n') || rest.is_empty() {
        return None;
    }
    let end = rest.find(|c: char| !c.is_alphanumeric()).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// A line break ends a sentence unless the line runs on into a lower-case next line.
fn line_ends_sentence(text: &str, i: usize) -> bool {
    let line_start = text[..i].rfind('\n').map_or(0, |p| p + 1);
    let line = text[line_start..i].trim_end();
    let next = text[i + 1..].split('\n').next().unwrap_or("").trim_start();
    if line.is_empty() || next.is_empty() {
        return true;
    }
    let ends_open = !line.ends_with(['.', '!', '?', ':', ';']);
    let next_lower = next.chars().next().is_some_and(char::is_lowercase);
    !(ends_open && next_lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        sentences(s).into_iter().map(|x| x.text).collect()
    }

    #[test]
    fn keeps_numbers_dates_and_abbreviations_inside_a_sentence() {
        let s = "Stand am 12.10.2026: 23.418,7 kWh, z.B. Nr. 5. Danke! Wie geht es?";
        assert_eq!(
            texts(s),
            ["Stand am 12.10.2026: 23.418,7 kWh, z.B. Nr. 5.", "Danke!", "Wie geht es?"]
        );
    }

    #[test]
    fn ordinals_before_months_and_lower_case_words_do_not_split() {
        assert_eq!(
            texts("Ab dem 1. November bitte. Zum 15. statt zum 1. abbuchen."),
            ["Ab dem 1. November bitte.", "Zum 15. statt zum 1. abbuchen."]
        );
    }

    #[test]
    fn lines_split_unless_they_run_on() {
        let s = "Hallo,\n\nich wohne jetzt in\nder Stadt\nZählernummer: 123";
        assert_eq!(texts(s), ["Hallo,", "ich wohne jetzt in\nder Stadt", "Zählernummer: 123"]);
    }

    #[test]
    fn spans_point_into_the_source() {
        let s = "  Eins. Zwei.";
        for x in sentences(s) {
            assert_eq!(&s[x.start..x.end], x.text);
        }
    }
}
