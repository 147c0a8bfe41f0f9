package audit

// The journal: the write-ahead file of the records Record makes durable.
//
// A read's record must be durable before the value leaves, but a store
// transaction per group of reads (SQLite: B-tree inserts, WAL frames, an
// fsync, now and then a checkpoint) costs more than the read itself. With
// a journal (Config.Journal, the embedded store's data directory), Record
// appends its record to a plain file, as one frame, and returns once
// fdatasync returned: concurrent callers share one write and one sync.
// With Config.JournalSync set, each Record writes its frame and returns;
// the files written are fdatasynced in the background within that time.
// A mover then links the journaled records into the trail in the store, in
// large transactions that also set the store's journal mark
// (storage.Tx.SetAuditJournalMark) to the last frame they hold, so every
// record reaches the chain exactly once:
//
//   - a crash before the move leaves the frames in the file; the next open
//     (New, ReplayJournal) moves every frame after the mark;
//   - a crash after the move but before the file was emptied leaves frames
//     at or below the mark, which are skipped;
//   - a write interrupted by the crash leaves a torn last frame, whose
//     checksum fails: its callers never heard success, and it is cut off.
//
// The journal is two files, path+"0" and path+"1", written over, not
// appended to: each is made journalSize bytes of zeros when opened, and
// writing goes on in one until the next write would pass its end; then it
// moves to the start of the other, when every frame in that one is in the
// store (else it goes on past the end, appending). Overwriting written
// blocks needs no allocation and no metadata change, so fdatasync flushes
// the data alone (on this project's ext4 machines a third of the cost of
// an append). Frame sequence numbers keep growing: the next is one past
// the larger of the mark and the last frame read at open. Reading a file
// stops at the first frame that is damaged, short or not numbered above
// its predecessor, so the older frames that follow the newest ones, and a
// torn write, end it.

// Frame layout (little-endian):
//
//	u32 length of payload | u32 CRC-32C of (seq || payload) | u64 seq | payload
//	payload: u64 event time (Unix ms) | u16 len | account | u16 len | event name | doc
//
// The journal holds only records not yet in the chain; they carry no hash
// until the mover links them, so Verify covers them from then on. The
// PostgreSQL store has no journal: a node's local disk is not the
// cluster's, so there Record waits for the store's own commit.

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

const (
	writeUnit   = 4096    // the unit the journal's zeros are written in
	frameHeader = 16      // length, checksum, seq
	maxFrame    = 1 << 24 // a frame longer than this is damage, not a record
	replayBatch = 1000    // records per store transaction when replaying
)

// journalSize is the size of each journal file when made (a variable so
// that tests can make the files switch often).
var journalSize = 4 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journal is the open journal. Only the Trail's journal writer (or the
// replay at open) uses it.
type journal struct {
	files [2]journalFile
	cur   int   // the file being written
	next  int64 // seq of the next frame
	buf   []byte
	// dirty marks the files written since their last fdatasync (written
	// without sync, Config.JournalSync > 0).
	dirty [2]bool
}

// journalFile is one of the journal's two files.
type journalFile struct {
	f    *os.File
	size int64 // where the next frame goes: the end of the newest frames
	last int64 // seq of the last frame written since the file was started over
}

// openJournal opens (making them when absent) the journal's files at
// path+"0" and path+"1" and returns their records in frame order (jseq
// set). The caller moves those after the store's mark (replay).
func openJournal(path string) (*journal, []*waiting, error) {
	j := &journal{next: 1}
	var frames []*waiting
	for i := range j.files {
		f, fr, size, err := openJournalFile(fmt.Sprintf("%s%d", path, i))
		if err != nil {
			j.close()
			return nil, nil, err
		}
		j.files[i] = journalFile{f: f, size: size}
		if len(fr) > 0 {
			j.files[i].last = fr[len(fr)-1].jseq
			if j.files[i].last >= j.next {
				j.next, j.cur = j.files[i].last+1, i
			}
		}
		frames = append(frames, fr...)
	}
	slices.SortFunc(frames, func(a, b *waiting) int { return cmp.Compare(a.jseq, b.jseq) })
	return j, frames, nil
}

// openJournalFile opens one journal file, reads its frames and fills it
// with zeros up to journalSize.
func openJournalFile(path string) (*os.File, []*waiting, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("audit: opening the journal: %w", err)
	}
	fail := func(what string, err error) (*os.File, []*waiting, int64, error) {
		f.Close()
		return nil, nil, 0, fmt.Errorf("audit: %s the journal %s: %w", what, path, err)
	}
	// Start from the file's own blocks, not from what an earlier process
	// left cached (see dropCache).
	if err := f.Sync(); err != nil {
		return fail("syncing", err)
	}
	if err := dropCache(f); err != nil {
		return fail("reading", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail("reading", err)
	}
	frames, good := decodeFrames(data)
	if len(data) < journalSize {
		// Write the zeros once, so that later writes overwrite blocks the
		// file already has; a page at a time, so that the cache holds
		// small pages (see dropCache).
		zeros := make([]byte, writeUnit)
		for off := len(data); off < journalSize; off += len(zeros) {
			n := min(len(zeros), journalSize-off)
			if _, err := f.WriteAt(zeros[:n], int64(off)); err != nil {
				return fail("making", err)
			}
		}
		if err := f.Sync(); err != nil {
			return fail("making", err)
		}
	}
	return f, frames, good, nil
}

// decodeFrames returns the whole frames at the start of data, in order,
// and the length of data they take. It stops at the first frame that is
// short, too long, fails its checksum or does not follow its predecessor.
func decodeFrames(data []byte) ([]*waiting, int64) {
	var frames []*waiting
	off := 0
	for len(data)-off >= frameHeader {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > maxFrame || len(data)-off-frameHeader < n {
			break
		}
		body := data[off+8 : off+frameHeader+n] // seq || payload
		if crc32.Checksum(body, castagnoli) != sum {
			break
		}
		seq := int64(binary.LittleEndian.Uint64(body))
		w, ok := decodePayload(body[8:])
		if !ok || (len(frames) > 0 && seq <= frames[len(frames)-1].jseq) {
			break
		}
		w.jseq = seq
		frames = append(frames, w)
		off += frameHeader + n
	}
	return frames, int64(off)
}

// decodePayload returns the record of a frame's payload: what linking it
// into the chain needs (time, account, event name, doc).
func decodePayload(p []byte) (*waiting, bool) {
	if len(p) < 8 {
		return nil, false
	}
	w := &waiting{rec: &Record{}, when: time.UnixMilli(int64(binary.LittleEndian.Uint64(p))).UTC()}
	p = p[8:]
	var ok bool
	if w.rec.RecipientAccountID, p, ok = cutString(p); !ok {
		return nil, false
	}
	if w.rec.EventName, p, ok = cutString(p); !ok {
		return nil, false
	}
	w.doc = append([]byte(nil), p...)
	return w, true
}

func cutString(p []byte) (string, []byte, bool) {
	if len(p) < 2 {
		return "", nil, false
	}
	n := int(binary.LittleEndian.Uint16(p))
	if len(p)-2 < n {
		return "", nil, false
	}
	return string(p[2 : 2+n]), p[2+n:], true
}

// appendFrame encodes one frame onto buf.
func appendFrame(buf []byte, seq int64, w *waiting) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, frameHeader)...)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(w.when.UnixMilli()))
	buf = appendString(buf, w.rec.RecipientAccountID)
	buf = appendString(buf, w.rec.EventName)
	buf = append(buf, w.doc...)
	n := len(buf) - start - frameHeader
	binary.LittleEndian.PutUint32(buf[start:], uint32(n))
	binary.LittleEndian.PutUint64(buf[start+8:], uint64(seq))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+8:], castagnoli))
	return buf
}

// appendString appends s with a u16 length, cut at 65535 bytes (account
// ids and event names are short; the doc holds the full values).
func appendString(buf []byte, s string) []byte {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(s)))
	return append(buf, s...)
}

// write puts group after the newest frames, with consecutive seqs (set in
// each waiting's jseq), and returns once it is durable (sync) or written
// to the file (!sync: the file is marked dirty for Trail.syncJournal). moved is the seq
// of the last frame known to be in the store: a file whose frames are all
// moved may be started over. A failed write uses its seqs up: whatever of
// it reached the disk is followed by frames numbered higher, or by
// nothing, and ends the file when read.
func (j *journal) write(group []*waiting, moved int64, sync bool) error {
	first := j.next
	j.next += int64(len(group))
	j.buf = j.buf[:0]
	for i, w := range group {
		j.buf = appendFrame(j.buf, first+int64(i), w)
	}
	jf := &j.files[j.cur]
	if jf.size+int64(len(j.buf)) > int64(journalSize) {
		if other := &j.files[1-j.cur]; other.last <= moved {
			other.size, other.last = 0, 0
			j.cur, jf = 1-j.cur, other
		}
	}
	if _, err := jf.f.WriteAt(j.buf, jf.size); err != nil {
		return fmt.Errorf("audit: writing the journal: %w", err)
	}
	if !sync {
		j.dirty[j.cur] = true
	} else if err := fdatasync(jf.f); err != nil {
		return fmt.Errorf("audit: syncing the journal: %w", err)
	}
	for i, w := range group {
		w.jseq = first + int64(i)
	}
	jf.size += int64(len(j.buf))
	jf.last = j.next - 1
	if cap(j.buf) > 1<<20 {
		j.buf = nil // do not keep a huge buffer after a burst
	}
	return nil
}

// takeDirty returns the files written since their last sync and clears
// their marks; the caller syncs them (outside the writers' lock) and calls
// markDirty with those that failed.
func (j *journal) takeDirty() []int {
	var files []int
	for i := range j.dirty {
		if j.dirty[i] {
			files = append(files, i)
			j.dirty[i] = false
		}
	}
	return files
}

// markDirty marks files as written since their last sync.
func (j *journal) markDirty(files []int) {
	for _, i := range files {
		j.dirty[i] = true
	}
}

// reset starts both files over; every frame in them must be in the store.
// The frames left in a file are numbered below every frame to come, so
// reading it stops where the new ones end.
func (j *journal) reset() {
	for i := range j.files {
		j.files[i].size, j.files[i].last = 0, 0
	}
	j.cur = 0
}

func (j *journal) close() error {
	var errs []error
	for _, jf := range j.files {
		if jf.f != nil {
			errs = append(errs, jf.f.Close())
		}
	}
	return errors.Join(errs...)
}

// replay moves the frames after the store's mark into the trail, in
// transactions of replayBatch records, empties the journal and sets its
// next seq.
//
// A store without any account has no trail the frames could belong to:
// its database was replaced under the journal (a restore into a new
// database file beside the old journal). Their records are not moved (log
// says how many): the mark is set past them and the journal starts over.
func (j *journal) replay(ctx context.Context, store storage.Store, frames []*waiting, log *slog.Logger) error {
	var mark int64
	var accounts int
	if err := store.View(ctx, func(tx storage.Tx) error {
		var err error
		if mark, err = tx.AuditJournalMark(); err != nil {
			return err
		}
		as, err := tx.Accounts()
		accounts = len(as)
		return err
	}); err != nil {
		return fmt.Errorf("audit: reading the journal mark: %w", err)
	}
	for len(frames) > 0 && frames[0].jseq <= mark {
		frames = frames[1:]
	}
	if len(frames) > 0 && accounts == 0 {
		// Setting the mark past them keeps them out for good.
		last := frames[len(frames)-1].jseq
		if err := store.Update(ctx, func(tx storage.Tx) error { return tx.SetAuditJournalMark(last) }); err != nil {
			return fmt.Errorf("audit: setting the journal mark: %w", err)
		}
		log.Warn("audit: the journal holds records but the store has no account: the journal is another database's; its records are not moved",
			"records", len(frames))
		j.next = max(j.next, last+1)
		j.reset()
		return nil
	}
	for len(frames) > 0 {
		batch := frames[:min(len(frames), replayBatch)]
		if err := store.Update(ctx, func(tx storage.Tx) error { return linkGroup(tx, batch) }); err != nil {
			return fmt.Errorf("audit: moving journaled records into the trail: %w", err)
		}
		mark = batch[len(batch)-1].jseq
		frames = frames[len(batch):]
	}
	j.next = max(j.next, mark+1)
	j.reset()
	return nil
}

// ReplayJournal moves the records left in the journal at path (by a crash,
// or a trail closed while the store failed) into store's trail. A command
// that reads the trail of a store that has a journal calls it first; New
// does the same. A missing journal is an empty one.
func ReplayJournal(ctx context.Context, store storage.Store, path string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if _, err := os.Stat(path + "0"); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	j, frames, err := openJournal(path)
	if err != nil {
		return err
	}
	err = j.replay(ctx, store, frames, log)
	return errors.Join(err, j.close())
}
