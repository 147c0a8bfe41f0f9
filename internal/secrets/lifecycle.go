package secrets

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Quotas of AWS Secrets Manager that coffer enforces.
const (
	maxVersions     = 100            // label-less versions beyond it are purged ...
	minVersionAge   = 24 * time.Hour // ... once they are this old
	maxTags         = 50             // user tags per secret
	defaultVersions = 100            // ListSecretVersionIds page size
)

const (
	msgTooManyVersions = "You have exceeded the maximum number of versions (100) for this secret. Versions without staging labels are removed when they are 24 hours old."
	msgTooManyTags     = "A secret can't have more than 50 tags."
	msgReservedTagKey  = "Invalid tag key. The aws: prefix is reserved for AWS use."
	msgCurrentRemoval  = "You can only move staging label AWSCURRENT to a different secret version. It can’t be completely removed."
)

// UpdateInput is UpdateSecret's request. Nil fields are left unchanged.
type UpdateInput struct {
	SecretID           string
	ClientRequestToken *string
	Description        *string
	KmsKeyID           *string
	SecretString       *string
	SecretBinary       []byte
	Type               *string
}

// UpdateSecret changes a secret's metadata and, when a value is given, writes
// a new AWSCURRENT version as PutSecretValue does. A new KmsKeyId re-encrypts
// the versions labelled AWSCURRENT, AWSPREVIOUS and AWSPENDING.
func (s *Service) UpdateSecret(ctx context.Context, c Caller, in UpdateInput) (*WriteResult, error) {
	v, err := checkVersionValue(in.SecretString, in.SecretBinary, in.ClientRequestToken)
	if err != nil {
		return nil, err
	}
	sec, err := s.active(ctx, c, access{action: actUpdateSecret, id: in.SecretID, keys: func(pc *policy.Context) {
		setIf(pc, "secretsmanager:description", in.Description)
		setIf(pc, "secretsmanager:kmskeyid", in.KmsKeyID)
		setIf(pc, "secretsmanager:type", in.Type)
	}}, "UpdateSecret")
	if err != nil {
		return nil, err
	}
	keyID := sec.KmsKeyID
	if in.KmsKeyID != nil {
		keyID = normalizeKeyID(*in.KmsKeyID)
	}
	var rewrap map[string]*storage.Version
	if keyID != sec.KmsKeyID {
		if rewrap, err = s.rewrap(ctx, sec, keyID); err != nil {
			return nil, err
		}
	}
	res := &WriteResult{ARN: sec.ARN, Name: sec.Name}
	var ct []byte
	if v != nil {
		token := *in.ClientRequestToken
		same, found, err := s.sameVersion(ctx, sec, token, *v)
		if err != nil {
			return nil, err
		}
		if found && !same {
			return nil, errTokenInUse(token, sec.ARN)
		}
		if found {
			// A retry of an update that already happened changes nothing.
			res.VersionID = token
			return res, nil
		}
		if ct, err = s.keys.seal(ctx, sec.Account, sec.Region, keyID, sec.ARN, token, *v); err != nil {
			return nil, err
		}
		res.VersionID = token
	}
	now := s.now()
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(sec.ARN)
		if err != nil {
			return notFound(err)
		}
		if deleted(cur) {
			return errMarked()
		}
		if in.Description != nil {
			cur.Description = *in.Description
		}
		if in.Type != nil {
			cur.Type = *in.Type
		}
		cur.KmsKeyID = keyID
		cur.LastChanged = now
		for _, nv := range rewrap {
			old, err := tx.Version(cur.ARN, nv.VersionID)
			if err != nil {
				return err
			}
			old.Ciphertext, old.KmsKeyID = nv.Ciphertext, nv.KmsKeyID
			if err := tx.UpdateVersion(old); err != nil {
				return err
			}
		}
		if ct != nil {
			if _, err := s.insertVersion(tx, cur, res.VersionID, nil, keyID, v.IsBinary(), ct, now); err != nil {
				return err
			}
		}
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, elems(res.ARN, res.Name, res.VersionID))
	})
	if err != nil {
		return nil, s.internal(ctx, "UpdateSecret", err)
	}
	return res, nil
}

// rewrap re-encrypts the AWSCURRENT, AWSPREVIOUS and AWSPENDING versions of
// sec under keyID. It returns the new ciphertexts by version id.
func (s *Service) rewrap(ctx context.Context, sec *storage.Secret, keyID string) (map[string]*storage.Version, error) {
	out := map[string]*storage.Version{}
	for _, label := range []string{StageCurrent, StagePrevious, StagePending} {
		vid := stages(sec.Stages).holder(label)
		if vid == "" || out[vid] != nil {
			continue
		}
		var ver *storage.Version
		err := s.store.View(ctx, func(tx storage.Tx) error {
			var err error
			ver, err = tx.Version(sec.ARN, vid)
			return err
		})
		if err != nil {
			return nil, s.internal(ctx, "UpdateSecret", err)
		}
		if ver.Ciphertext == nil {
			continue
		}
		val, err := s.keys.open(ctx, sec.ARN, ver)
		if err != nil {
			return nil, err
		}
		ct, err := s.keys.seal(ctx, sec.Account, sec.Region, keyID, sec.ARN, vid, val)
		if err != nil {
			return nil, err
		}
		out[vid] = &storage.Version{VersionID: vid, KmsKeyID: keyID, Ciphertext: ct}
	}
	return out, nil
}

// insertVersion adds a version to cur (whose record the caller saves), moves
// the labels and enforces the label and version quotas, purging label-less
// versions older than a day when the secret holds more than 100 versions.
// It returns the labels of the new version.
func (s *Service) insertVersion(tx storage.Tx, cur *storage.Secret, versionID string, labels []string, keyID string, binary bool, ct []byte, now time.Time) ([]string, error) {
	st := stages(cur.Stages).clone()
	newLabels := st.addVersion(versionID, dedupe(labels))
	if st.count() > maxLabels {
		return nil, &Error{Kind: KindLimitExceeded, Message: msgTooManyLabels}
	}
	if err := s.purgeVersions(tx, cur.ARN, st, now); err != nil {
		return nil, err
	}
	if err := tx.InsertVersion(&storage.Version{SecretARN: cur.ARN, VersionID: versionID, Created: now,
		KmsKeyID: keyID, Binary: binary, Ciphertext: ct}); err != nil {
		return nil, err
	}
	cur.Stages = st
	cur.LastChanged = now
	if err := noteNewVersion(cur, versionID, now); err != nil {
		return nil, err
	}
	return newLabels, nil
}

// purgeVersions makes room for one more version: while the secret would hold
// more than maxVersions, it deletes the oldest version without labels (in
// st) that is at least a day old; if none is, the write is refused.
func (s *Service) purgeVersions(tx storage.Tx, arn string, st stages, now time.Time) error {
	vs, err := tx.Versions(arn, false)
	if err != nil {
		return err
	}
	excess := len(vs) + 1 - maxVersions
	for _, v := range vs { // oldest first
		if excess <= 0 {
			return nil
		}
		if len(st[v.VersionID]) > 0 || now.Sub(v.Created) < minVersionAge {
			continue
		}
		if err := tx.DeleteVersion(arn, v.VersionID); err != nil {
			return err
		}
		excess--
	}
	if excess > 0 {
		return &Error{Kind: KindLimitExceeded, Message: msgTooManyVersions}
	}
	return nil
}

// StageInput is UpdateSecretVersionStage's request.
type StageInput struct {
	SecretID            string
	VersionStage        string
	MoveToVersionID     *string
	RemoveFromVersionID *string
}

// UpdateSecretVersionStage moves or removes one staging label (BEHAVIOUR.md
// §4.3). Moving AWSCURRENT gives AWSPREVIOUS to the version it left.
func (s *Service) UpdateSecretVersionStage(ctx context.Context, c Caller, in StageInput) (*WriteResult, error) {
	label := in.VersionStage
	move, remove := deref(in.MoveToVersionID), deref(in.RemoveFromVersionID)
	var res *WriteResult
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := s.resolve(tx, c, access{action: actUpdateSecretVersionStage, id: in.SecretID, keys: func(pc *policy.Context) {
			pc.Set("secretsmanager:versionstage", label)
		}})
		if err != nil {
			return err
		}
		if deleted(cur) {
			return errMarked()
		}
		res = &WriteResult{ARN: cur.ARN, Name: cur.Name}
		for _, vid := range []string{move, remove} {
			if vid == "" {
				continue
			}
			if _, err := tx.Version(cur.ARN, vid); errors.Is(err, storage.ErrNotFound) {
				return errorf(KindInvalidParameter, "Secrets Manager can't find the specified secret version: %s", vid)
			} else if err != nil {
				return err
			}
		}
		st := stages(cur.Stages).clone()
		holder := st.holder(label)
		switch {
		case move == "" && remove == "":
			return errorf(KindInvalidParameter, "You must specify MoveToVersionId or RemoveFromVersionId.")
		case move == "":
			if label == StageCurrent {
				return &Error{Kind: KindInvalidParameter, Message: msgCurrentRemoval}
			}
			if holder != remove {
				return errorf(KindInvalidParameter, "Staging label %s is not attached to version %s.", label, remove)
			}
			st.detach(label)
		default:
			if holder == move {
				return nil // already there
			}
			if holder != "" && remove != holder {
				return errorf(KindInvalidParameter, "The parameter RemoveFromVersionId can't be empty. Staging label %s is currently attached to version %s, so you must explicitly reference that version in RemoveFromVersionId.", label, holder)
			}
			if holder == "" && remove != "" {
				return errorf(KindInvalidParameter, "Staging label %s is not attached to version %s.", label, remove)
			}
			st.attach(label, move)
			if label == StageCurrent && holder != "" {
				st.attach(StagePrevious, holder)
			}
		}
		if st.count() > maxLabels {
			return &Error{Kind: KindLimitExceeded, Message: msgTooManyLabels}
		}
		cur.Stages = st
		cur.LastChanged = s.now()
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, elems(res.ARN, res.Name, ""))
	})
	if err != nil {
		return nil, s.internal(ctx, "UpdateSecretVersionStage", err)
	}
	return res, nil
}

// VersionEntry describes one version for ListSecretVersionIds.
type VersionEntry struct {
	VersionID    string
	Stages       []string // nil for a deprecated version
	Created      time.Time
	LastAccessed time.Time
	KmsKeyIDs    []string
}

// ListVersionsInput is ListSecretVersionIds' request.
type ListVersionsInput struct {
	SecretID          string
	IncludeDeprecated bool
	MaxResults        int
	NextToken         string
}

// ListVersionsResult is one page of versions, newest first.
type ListVersionsResult struct {
	ARN       string
	Name      string
	Versions  []VersionEntry
	NextToken string
}

// ListSecretVersionIds lists a secret's versions, newest first; deprecated
// (label-less) versions only when asked. It works on secrets scheduled for
// deletion.
func (s *Service) ListSecretVersionIds(ctx context.Context, c Caller, in ListVersionsInput) (*ListVersionsResult, error) {
	var after int64 = -1
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "v:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "v:") || n < 0 {
			return nil, &Error{Kind: KindInvalidNextToken, Message: "The NextToken value is invalid."}
		}
		after = n
	}
	limit := in.MaxResults
	if limit <= 0 {
		limit = defaultVersions
	}
	var sec *storage.Secret
	var vs []*storage.Version
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		if sec, err = s.resolve(tx, c, access{action: actListSecretVersionIds, id: in.SecretID}); err != nil {
			return err
		}
		vs, err = tx.Versions(sec.ARN, false)
		return err
	})
	if err != nil {
		return nil, s.internal(ctx, "ListSecretVersionIds", err)
	}
	res := &ListVersionsResult{ARN: sec.ARN, Name: sec.Name, Versions: []VersionEntry{}}
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if after >= 0 && v.Seq >= after {
			continue
		}
		labels := sec.Stages[v.VersionID]
		if len(labels) == 0 && !in.IncludeDeprecated {
			continue
		}
		if len(res.Versions) == limit {
			res.NextToken = base64.RawURLEncoding.EncodeToString([]byte("v:" + strconv.FormatInt(vs[i+1].Seq, 10)))
			break
		}
		keyIDs := []string{"DefaultEncryptionKey"}
		if v.KmsKeyID != "" {
			keyIDs = []string{v.KmsKeyID}
		}
		res.Versions = append(res.Versions, VersionEntry{
			VersionID: v.VersionID, Stages: slices.Clone(labels), Created: v.Created,
			LastAccessed: v.LastAccessed, KmsKeyIDs: keyIDs,
		})
	}
	return res, nil
}

// TagResource adds tags to a secret or replaces the values of existing keys.
func (s *Service) TagResource(ctx context.Context, c Caller, secretID string, tags []Tag) error {
	if err := checkTags(tags); err != nil {
		return err
	}
	keys := func(pc *policy.Context) {
		tagKeys := make([]string, 0, len(tags))
		for _, t := range tags {
			pc.Set("aws:requesttag/"+t.Key, t.Value)
			tagKeys = append(tagKeys, t.Key)
		}
		pc.Set("aws:tagkeys", tagKeys...)
	}
	return s.retag(ctx, c, access{action: actTagResource, id: secretID, keys: keys}, func(cur []Tag) ([]Tag, error) {
		for _, t := range tags {
			if i := slices.IndexFunc(cur, func(o Tag) bool { return o.Key == t.Key }); i >= 0 {
				cur[i].Value = t.Value
			} else {
				cur = append(cur, t)
			}
		}
		if len(cur) > maxTags {
			return nil, &Error{Kind: KindInvalidParameter, Message: msgTooManyTags}
		}
		return cur, nil
	})
}

// UntagResource removes tags by key; absent keys are ignored.
func (s *Service) UntagResource(ctx context.Context, c Caller, secretID string, keys []string) error {
	for _, k := range keys {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return &Error{Kind: KindInvalidParameter, Message: msgReservedTagKey}
		}
	}
	tagKeys := func(pc *policy.Context) { pc.Set("aws:tagkeys", keys...) }
	return s.retag(ctx, c, access{action: actUntagResource, id: secretID, keys: tagKeys}, func(cur []Tag) ([]Tag, error) {
		return slices.DeleteFunc(cur, func(t Tag) bool { return slices.Contains(keys, t.Key) }), nil
	})
}

func (s *Service) retag(ctx context.Context, c Caller, a access, change func([]Tag) ([]Tag, error)) error {
	op := strings.TrimPrefix(a.action, "secretsmanager:")
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := s.resolve(tx, c, a)
		if err != nil {
			return err
		}
		if deleted(cur) {
			return errMarked()
		}
		tags, err := change(slices.Clone(cur.Tags))
		if err != nil {
			return err
		}
		cur.Tags, cur.TagsSet = tags, true
		cur.LastChanged = s.now()
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, nil)
	})
	if err != nil {
		return s.internal(ctx, op, err)
	}
	return nil
}

// BatchItemError is the failure of one secret in BatchGetSecretValue.
type BatchItemError struct {
	SecretID string
	Err      *Error
}

// BatchResult answers BatchGetSecretValue.
type BatchResult struct {
	Values    []*SecretValue
	Errors    []BatchItemError
	NextToken string
}

// BatchGetSecretValueByFilters reads the AWSCURRENT value of a page of the
// secrets that match filters (ListSecrets' semantics), 20 by default.
func (s *Service) BatchGetSecretValueByFilters(ctx context.Context, c Caller, filters []Filter, maxResults int, nextToken string) (*BatchResult, error) {
	if maxResults <= 0 {
		maxResults = 20
	}
	if err := s.authorize(c, access{action: actBatchGetSecretValue, id: "*"}, nil, "*"); err != nil {
		return nil, err
	}
	page, next, err := s.listPage(ctx, c, "BatchGetSecretValue", listRequest{Filters: filters, Limit: maxResults, NextToken: nextToken})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(page))
	for _, sec := range page {
		ids = append(ids, sec.ARN)
	}
	res, err := s.batchGet(ctx, c, ids)
	if err != nil {
		return nil, err
	}
	res.NextToken = next
	return res, nil
}

// BatchGetSecretValue reads the AWSCURRENT value of each listed secret. A
// secret that cannot be read is reported in Errors; the call succeeds.
// Each secret is authorized on its own (secretsmanager:GetSecretValue), after
// secretsmanager:BatchGetSecretValue on "*" for the call.
func (s *Service) BatchGetSecretValue(ctx context.Context, c Caller, ids []string) (*BatchResult, error) {
	if err := s.authorize(c, access{action: actBatchGetSecretValue, id: "*"}, nil, "*"); err != nil {
		return nil, err
	}
	return s.batchGet(ctx, c, ids)
}

func (s *Service) batchGet(ctx context.Context, c Caller, ids []string) (*BatchResult, error) {
	res := &BatchResult{Values: []*SecretValue{}, Errors: []BatchItemError{}}
	for _, id := range ids {
		v, err := s.GetSecretValue(ctx, c, GetValueInput{SecretID: id})
		var de *Error
		switch {
		case err == nil:
			res.Values = append(res.Values, v)
		case errors.As(err, &de) && de.Kind != KindInternal:
			res.Errors = append(res.Errors, BatchItemError{SecretID: id, Err: de})
		default:
			return nil, err
		}
	}
	return res, nil
}
