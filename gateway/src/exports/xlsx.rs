//! The xlsx download: one sheet written in constant-memory mode (its rows go to a temporary
//! file, not memory), then zipped straight into the response as it is produced. The writer is
//! synchronous, so it runs on a blocking thread, fed and drained through bounded channels.

use std::io::{self, Write};

use axum::body::Bytes;
use enneo_proto::ticket::v1 as pb;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use tokio::sync::mpsc;

/// Bytes per piece of the download.
const PIECE: usize = 64 * 1024;
/// Excel's limit on the text of one cell.
const MAX_TEXT: usize = 32_767;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The workbook's bytes, produced while the rows arrive.
pub fn body(
    columns: Vec<pb::ExportColumn>,
    mut stream: super::Rows,
) -> impl futures_util::Stream<Item = Result<Bytes, io::Error>> + Send {
    let (rows_tx, rows_rx) = mpsc::channel::<Result<Vec<pb::ExportRow>, tonic::Status>>(2);
    let (bytes_tx, bytes_rx) = mpsc::channel::<Result<Bytes, io::Error>>(2);
    tokio::spawn(async move {
        loop {
            let rows = match stream.next().await {
                Ok(Some(rows)) => Ok(rows),
                // Dropping the sender tells the writer that every row is there.
                Ok(None) => return,
                Err(status) => Err(status),
            };
            let failed = rows.is_err();
            if rows_tx.send(rows).await.is_err() || failed {
                return;
            }
        }
    });
    tokio::task::spawn_blocking(move || {
        let mut out = Pieces { tx: bytes_tx.clone(), buffer: Vec::with_capacity(PIECE) };
        if let Err(err) = write(&columns, rows_rx, &mut out).and_then(|()| Ok(out.send()?)) {
            tracing::error!(%err, "xlsx export failed; the download is cut short");
            let _ = bytes_tx.blocking_send(Err(io::Error::other(err.to_string())));
        }
    });
    futures_util::stream::unfold(bytes_rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    })
}

fn write(
    columns: &[pb::ExportColumn],
    mut rows: mpsc::Receiver<Result<Vec<pb::ExportRow>, tonic::Status>>,
    out: &mut Pieces,
) -> Result<(), Failure> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    for (c, column) in (0u16..).zip(columns) {
        // Widths first: a constant-memory sheet writes its column settings with the first row.
        if column.r#type == "timestamp" {
            sheet.set_column_width(c, 19)?;
        }
        sheet.write_string_with_format(0, c, &column.name, &bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    let mut r = 0u32;
    while let Some(batch) = rows.blocking_recv() {
        for row in batch? {
            r += 1;
            for (c, value) in (0u16..).zip(&row.values) {
                use pb::export_value::Kind;
                match &value.kind {
                    None => {}
                    Some(Kind::Text(text)) => {
                        sheet.write_string(r, c, clip(text))?;
                    }
                    // Ids and counts stay far below 2^53, where f64 is exact.
                    Some(Kind::Integer(n)) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Some(Kind::Boolean(b)) => {
                        sheet.write_boolean(r, c, *b)?;
                    }
                    Some(Kind::Timestamp(t)) => {
                        let at = ExcelDateTime::from_timestamp(t.seconds)?;
                        sheet.write_datetime_with_format(r, c, at, &datetime)?;
                    }
                }
            }
        }
    }
    workbook.save_to_writer(&mut *out)?;
    Ok(())
}

/// At most Excel's cell limit, cut on a character boundary.
fn clip(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Hands the workbook's bytes to the response in pieces of [`PIECE`] bytes; a full channel
/// (a slow client) makes the writer wait.
struct Pieces {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buffer: Vec<u8>,
}

impl Pieces {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(PIECE)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for Pieces {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(clip("kurz"), "kurz");
        let long = "ä".repeat(20_000);
        let cut = clip(&long);
        assert!(cut.len() <= 32_767 && cut.len() > 32_760);
        assert!(cut.chars().all(|c| c == 'ä'));
    }
}
