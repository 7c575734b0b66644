//! The output buffer with protocol-4 framing, following CPython's framer (pickle.md §7).

/// Frames are flushed once they hold at least this many bytes (`_FRAME_SIZE_TARGET`).
pub(crate) const FRAME_SIZE_TARGET: usize = 64 * 1024;
/// Frames smaller than this are written without a `FRAME` header (`_FRAME_SIZE_MIN`).
const FRAME_SIZE_MIN: usize = 4;

/// Where the writer's bytes go: straight to `out`, or (protocol 4+) into the current frame.
pub(crate) struct Output {
    out: Vec<u8>,
    frame: Vec<u8>,
    framing: bool,
    /// Frames under 4 bytes go without a header (3.7+; 3.6 always writes one).
    small_frames_bare: bool,
    /// Payloads of 64 KiB or more bypass frames (3.7+ and 3.6's pure-Python pickler).
    large_bypass: bool,
}

impl Output {
    pub(crate) fn new(small_frames_bare: bool, large_bypass: bool) -> Output {
        Output {
            out: Vec::new(),
            frame: Vec::new(),
            framing: false,
            small_frames_bare,
            large_bypass,
        }
    }

    /// Starts framing (after the `PROTO` header, which is never framed).
    pub(crate) fn start_framing(&mut self) {
        self.framing = true;
    }

    #[inline]
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        if self.framing {
            self.frame.extend_from_slice(bytes);
        } else {
            self.out.extend_from_slice(bytes);
        }
    }

    #[inline]
    pub(crate) fn byte(&mut self, b: u8) {
        if self.framing {
            self.frame.push(b);
        } else {
            self.out.push(b);
        }
    }

    /// CPython checks this at the start of saving every object: a frame that has reached the
    /// target size is flushed, so one object's bytes are never split between frames.
    pub(crate) fn commit_frame(&mut self, force: bool) {
        if !self.framing || self.frame.is_empty() {
            return;
        }
        if force || self.frame.len() >= FRAME_SIZE_TARGET {
            if self.frame.len() >= FRAME_SIZE_MIN || !self.small_frames_bare {
                self.out.push(crate::Opcode::Frame.byte());
                self.out
                    .extend_from_slice(&(self.frame.len() as u64).to_le_bytes());
            }
            self.out.extend_from_slice(&self.frame);
            self.frame.clear();
        }
    }

    /// A payload of 64 KiB or more goes outside frames: the current frame is flushed (whatever
    /// its size), then header and payload are written unframed.
    pub(crate) fn write_large(&mut self, header: &[u8], payload: &[u8]) {
        if self.framing && self.large_bypass && payload.len() >= FRAME_SIZE_TARGET {
            self.commit_frame(true);
            self.out.extend_from_slice(header);
            self.out.extend_from_slice(payload);
        } else {
            self.write(header);
            self.write(payload);
        }
    }

    /// Bytes written so far (without the `FRAME` headers still to come).
    pub(crate) fn len(&self) -> usize {
        self.out.len() + self.frame.len()
    }

    /// Flushes the last frame and returns the bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.commit_frame(true);
        self.out
    }
}
