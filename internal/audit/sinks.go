package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Sink receives committed records, one JSON object (a record's Doc) per
// call, from a single goroutine. Sinks are best effort: a record handed to
// a sink may be lost on a crash; the store keeps every record.
type Sink interface {
	Write(doc []byte) error
	Close() error
}

// publish hands a committed record to the sinks without blocking.
func (t *Trail) publish(doc []byte) {
	if t.queue == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	select {
	case t.queue <- doc:
	default:
		t.dropped++
		if t.dropped == 1 || t.dropped%1000 == 0 {
			t.log.Warn("audit: sink queue full, records dropped from the sinks (the store keeps them)", "dropped", t.dropped)
		}
	}
}

// remember keeps a record appended in a transaction whose commit this Trail
// does not see, until confirm or the confirm loop finds it in the store.
func (t *Trail) remember(ar *storage.AuditRecord) {
	if t.queue == nil {
		return
	}
	t.mu.Lock()
	t.unconfirmed[string(ar.Hash)] = unconfirmed{seq: ar.Seq, doc: ar.Doc, added: time.Now()}
	t.mu.Unlock()
}

// confirm publishes a remembered record known to be committed.
func (t *Trail) confirm(hash []byte) {
	if t.queue == nil {
		return
	}
	t.mu.Lock()
	u, ok := t.unconfirmed[string(hash)]
	delete(t.unconfirmed, string(hash))
	t.mu.Unlock()
	if ok {
		t.publish(u.doc)
	}
}

// drain writes queued records to every sink.
func (t *Trail) drain() {
	defer t.done.Done()
	failing := make([]bool, len(t.cfg.Sinks))
	write := func(doc []byte) {
		for i, s := range t.cfg.Sinks {
			err := s.Write(doc)
			switch {
			case err != nil && !failing[i]:
				failing[i] = true
				t.log.Error("audit: sink failing, records are kept in the store only", "sink", fmt.Sprintf("%T", s), "err", err)
			case err == nil && failing[i]:
				failing[i] = false
				t.log.Info("audit: sink recovered", "sink", fmt.Sprintf("%T", s))
			}
		}
	}
	for {
		select {
		case doc := <-t.queue:
			write(doc)
		case <-t.stop:
			for {
				select {
				case doc := <-t.queue:
					write(doc)
				default:
					return
				}
			}
		}
	}
}

// confirmLoop looks in the store, every second, for records appended in
// transactions of others (Append) and publishes those that committed;
// records not found after two minutes were rolled back and are forgotten.
func (t *Trail) confirmLoop() {
	defer t.done.Done()
	tick := time.NewTicker(confirmAfter)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			t.confirmPending(true)
			return
		case <-tick.C:
			t.confirmPending(false)
		}
	}
}

func (t *Trail) confirmPending(final bool) {
	t.mu.Lock()
	if len(t.unconfirmed) == 0 {
		t.mu.Unlock()
		return
	}
	var minSeq, maxSeq int64
	for _, u := range t.unconfirmed {
		if minSeq == 0 || u.seq < minSeq {
			minSeq = u.seq
		}
		if u.seq > maxSeq {
			maxSeq = u.seq
		}
	}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	found := map[string]bool{}
	err := t.store.View(ctx, func(tx storage.Tx) error {
		after := minSeq - 1
		for after < maxSeq {
			recs, err := tx.AuditRecords(after, 500)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				if r.Seq > maxSeq {
					break
				}
				found[string(r.Hash)] = true
			}
			after = recs[len(recs)-1].Seq
		}
		return nil
	})
	if err != nil {
		return
	}
	var docs [][]byte
	t.mu.Lock()
	for h, u := range t.unconfirmed {
		if found[h] {
			docs = append(docs, u.doc)
			delete(t.unconfirmed, h)
		} else if final || time.Since(u.added) > forgetUnconfirmedTime {
			delete(t.unconfirmed, h)
		}
	}
	t.mu.Unlock()
	for _, d := range docs {
		t.publish(d)
	}
}

// lineSink writes one JSON object per line to w.
type lineSink struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closer io.Closer
	sync   func() error
}

func (s *lineSink) Write(doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(doc); err != nil {
		return err
	}
	if err := s.w.WriteByte('\n'); err != nil {
		return err
	}
	return s.w.Flush()
}

func (s *lineSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.w.Flush()
	if s.closer != nil {
		err = errors.Join(err, s.closer.Close())
	}
	return err
}

// NewFileSink appends records as JSON lines to the file at path (created
// with mode 0600 when missing).
func NewFileSink(path string) (Sink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: opening the audit file: %w", err)
	}
	return &lineSink{w: bufio.NewWriter(f), closer: f}, nil
}

// NewWriterSink writes records as JSON lines to w (stdout); it does not
// close w.
func NewWriterSink(w io.Writer) Sink {
	return &lineSink{w: bufio.NewWriter(w)}
}

// syslogSink sends each record as one syslog message (facility AUTHPRIV,
// severity INFO, tag "coffer-audit").
type syslogSink struct {
	w *syslog.Writer
}

// NewSyslogSink connects to a syslog daemon. addr "" or "local" uses the
// local socket (/dev/log); "unix:///path" a unix socket; "udp://host:port"
// and "tcp://host:port" a remote daemon (a bare "host:port" means udp).
func NewSyslogSink(addr string) (Sink, error) {
	network, raddr := "", ""
	switch {
	case addr == "" || addr == "local":
	case strings.HasPrefix(addr, "unix://"):
		network, raddr = "unixgram", strings.TrimPrefix(addr, "unix://")
	case strings.HasPrefix(addr, "udp://"):
		network, raddr = "udp", strings.TrimPrefix(addr, "udp://")
	case strings.HasPrefix(addr, "tcp://"):
		network, raddr = "tcp", strings.TrimPrefix(addr, "tcp://")
	case strings.HasPrefix(addr, "/"):
		network, raddr = "unixgram", addr
	default:
		network, raddr = "udp", addr
	}
	w, err := syslog.Dial(network, raddr, syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "coffer-audit")
	if err != nil && network == "unixgram" {
		w, err = syslog.Dial("unix", raddr, syslog.LOG_AUTHPRIV|syslog.LOG_INFO, "coffer-audit")
	}
	if err != nil {
		return nil, fmt.Errorf("audit: connecting to syslog: %w", err)
	}
	return &syslogSink{w: w}, nil
}

func (s *syslogSink) Write(doc []byte) error { return s.w.Info(string(doc)) }
func (s *syslogSink) Close() error           { return s.w.Close() }
