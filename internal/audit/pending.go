package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/coffer-dev/coffer/internal/storage"
)

// Pending carries the record of one API call from the front door into the
// domain: the front door makes it (identity, parameters, request id) and
// puts it in the context; a domain write calls Commit inside its
// transaction; the front door finishes the call with Finish, which makes
// the record durable (Trail.Record) unless Commit already did.
//
// A Pending belongs to one call and is used from one goroutine at a time.
// Commit may run again when the store retries its transaction (PostgreSQL
// does), with a new Tx; calling it twice in the same transaction, or after
// Finish, is an error.
type Pending struct {
	rec       *Record
	tx        storage.Tx // the transaction Commit appended in
	committed *storage.AuditRecord
	finished  bool
}

// NewPending returns a Pending for rec (the front door fills identity,
// event name, request parameters, request id, region, account, ...).
func NewPending(rec *Record) *Pending {
	if rec == nil {
		rec = &Record{}
	}
	return &Pending{rec: rec}
}

type pendingKey struct{}

// WithPending returns ctx carrying p.
func WithPending(ctx context.Context, p *Pending) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

// PendingFrom returns the Pending in ctx, nil when none.
func PendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// Record returns the pending record, for the caller to complete (event
// name, request parameters, resources) before Commit or Finish.
func (p *Pending) Record() *Record { return p.rec }

// Commit appends the pending record (as succeeded, with these response
// elements and resources) inside tx; the front door then writes nothing.
func (p *Pending) Commit(tx storage.Tx, t *Trail, response map[string]any, resources ...Resource) error {
	if p == nil {
		return errors.New("audit: commit without a pending record")
	}
	if p.finished {
		return errors.New("audit: pending record committed after it was finished")
	}
	if p.tx != nil && sameTx(p.tx, tx) {
		return errors.New("audit: pending record committed twice")
	}
	rec := *p.rec
	rec.ErrorCode, rec.ErrorMessage = "", ""
	rec.ResponseElements = response
	if len(resources) > 0 {
		rec.Resources = append([]Resource(nil), resources...)
	}
	if p.committed != nil {
		// A retry of the transaction: keep the event's id and time.
		rec.EventID, rec.EventTime = p.rec.EventID, p.rec.EventTime
	}
	ar, err := t.append(tx, &rec)
	if err != nil {
		return err
	}
	// Keep the filled fields (event id, time) for a retry and for Finish.
	p.rec.EventID, p.rec.EventTime = rec.EventID, rec.EventTime
	p.tx, p.committed = tx, ar
	t.remember(ar)
	return nil
}

// sameTx reports whether a and b are the same transaction (false when
// they cannot be compared).
func sameTx(a, b storage.Tx) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// Committed reports whether Commit appended the record.
func (p *Pending) Committed() bool { return p != nil && p.committed != nil }

// Finish records the call's outcome (errCode/errMsg "" for success) unless
// Commit did, durably, before the response is written. An error means the
// response must be a 5xx and, for a read, must not carry the value.
//
// After a Commit, a success is not written again (the domain's
// transaction committed with the record). A failure after a Commit is
// checked against the store: when the domain's transaction rolled back,
// its record is gone and Finish records the failure; when it committed,
// Finish writes nothing more. Either way the call leaves exactly one record.
func (p *Pending) Finish(ctx context.Context, t *Trail, errCode, errMsg string, response map[string]any) error {
	if p == nil {
		return errors.New("audit: finish without a pending record")
	}
	if p.finished {
		return errors.New("audit: pending record finished twice")
	}
	if p.committed != nil {
		if errCode == "" {
			p.finished = true
			t.confirm(p.committed.Hash)
			return nil
		}
		kept, err := p.isKept(ctx, t)
		if err != nil {
			return fmt.Errorf("audit: checking the record of %s: %w", p.rec.EventName, err)
		}
		if kept {
			p.finished = true
			t.confirm(p.committed.Hash)
			return nil
		}
		// The domain's transaction rolled back: record the failure with a
		// new event id.
		p.rec.EventID = ""
	}
	// The call is over: its record is completed in place (no copy).
	p.rec.ErrorCode, p.rec.ErrorMessage = errCode, errMsg
	p.rec.ResponseElements = response
	if err := t.Record(ctx, p.rec); err != nil {
		return err
	}
	p.finished = true
	return nil
}

// isKept reports whether the record Commit appended is in the store.
func (p *Pending) isKept(ctx context.Context, t *Trail) (bool, error) {
	kept := false
	err := t.store.View(ctx, func(tx storage.Tx) error {
		recs, err := tx.AuditRecords(p.committed.Seq-1, 1)
		if err != nil {
			return err
		}
		kept = len(recs) == 1 && recs[0].Seq == p.committed.Seq && bytes.Equal(recs[0].Hash, p.committed.Hash)
		return nil
	})
	return kept, err
}
