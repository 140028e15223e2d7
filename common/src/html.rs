//! HTML as plain text, for mail text parts and for reading what a customer wrote.

/// Wide enough that the text part is never wrapped: mail clients wrap, and the same text is
/// stored as a conversation's `bodyPlain`.
const TEXT_WIDTH: usize = 10_000;

/// A plain-text rendering of an HTML body for the text part: what a reader sees (no
/// `<style>`/`<script>` text), paragraphs and line breaks kept, `<pre>` verbatim, entities
/// decoded, link targets listed as footnotes.
pub fn html_to_text(html: &str) -> String {
    let rendered = html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .no_table_borders()
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), TEXT_WIDTH);
    match rendered {
        Ok(text) => text.replace('\u{a0}', " ").trim().to_owned(),
        Err(err) => {
            tracing::warn!(%err, "HTML not rendered as text; the text is the HTML");
            html.to_owned()
        }
    }
}
