//! Phases 1–3, block after block: the file is cut into blocks of complete
//! lines (what follows the last `\n` is carried into the next), and each
//! block is read through phase 3 ([`read_block`]) before it is handed to
//! phase 4. One block is alive at a time, so memory stays bounded by the
//! block size, whatever the log's length.

use std::fs::File;
use std::io::Read;

use super::block::{read_block, Block};
use super::keybook::KeyBook;
use crate::log::MAX_LINE;

/// What follows a block's complete lines.
pub(super) enum Tail {
    /// More blocks.
    More,
    /// A line longer than [`MAX_LINE`] starts after them: reading stops.
    TooLong,
    /// The end of the file, `rest` bytes after the last `\n` (a torn line).
    End { rest: usize },
}

/// One block of complete lines, read through phase 3.
pub(super) struct Piece {
    /// The bytes the lines point into (complete lines, then the tail).
    pub(super) buf: Vec<u8>,
    pub(super) block: Block,
    pub(super) tail: Tail,
}

/// Cuts the file into blocks and reads each through phase 3.
pub(super) struct Reader {
    file: File,
    book: KeyBook,
    /// Bytes after the last block's final `\n` (the start of a line).
    carry: Vec<u8>,
    finished: bool,
    workers: usize,
    data: bool,
    /// Bytes per block (at least [`MAX_LINE`] + 1, so a full block without
    /// a `\n` is a line too long).
    block: usize,
}

impl Reader {
    /// Reads `file` from its position in blocks of `block` bytes; `workers`
    /// threads per block, and with `data` each entry's data map is built on
    /// them.
    pub(super) fn new(file: File, workers: usize, data: bool, block: usize) -> Reader {
        Reader {
            file,
            book: KeyBook::default(),
            carry: Vec::new(),
            finished: false,
            workers,
            data,
            block: block.max(MAX_LINE + 1),
        }
    }

    /// The next block (in `buf`, whose contents are dropped), or None past
    /// the end; `vouch`: whether its checkpoint may vouch.
    pub(super) fn next(&mut self, mut buf: Vec<u8>, vouch: bool) -> std::io::Result<Option<Piece>> {
        if self.finished {
            return Ok(None);
        }
        buf.clear();
        buf.reserve(self.block + MAX_LINE + 1);
        buf.append(&mut self.carry);
        let want = self.block.saturating_sub(buf.len()) as u64;
        let got = (&mut self.file).take(want).read_to_end(&mut buf)?;
        let eof = (got as u64) < want;
        if buf.is_empty() {
            self.finished = true;
            return Ok(None);
        }
        let cut = buf.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let block = read_block(&buf, cut, self.workers, &mut self.book, vouch, self.data);
        let rest = buf.len() - cut;
        let tail = if rest > MAX_LINE {
            self.finished = true;
            Tail::TooLong
        } else if eof {
            self.finished = true;
            Tail::End { rest }
        } else {
            self.carry.extend_from_slice(&buf[cut..]);
            Tail::More
        };
        Ok(Some(Piece { buf, block, tail }))
    }
}
