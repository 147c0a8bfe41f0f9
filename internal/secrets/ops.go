package secrets

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer-dev/coffer/internal/policy"
	"github.com/coffer-dev/coffer/internal/storage"
)

// Tag is a secret tag.
type Tag = storage.Tag

// WriteResult answers CreateSecret and PutSecretValue.
type WriteResult struct {
	ARN       string
	Name      string
	VersionID string   // "" when no version was written
	Stages    []string // labels of the written version (PutSecretValue)
}

// CreateInput is CreateSecret's request. Pointer fields are optional.
type CreateInput struct {
	Name               string
	ClientRequestToken *string
	Description        *string
	KmsKeyID           *string
	SecretString       *string
	SecretBinary       []byte
	Tags               []Tag
	Type               *string
}

// CreateSecret creates a secret, with a first version when a value is given.
func (s *Service) CreateSecret(ctx context.Context, c Caller, in CreateInput) (*WriteResult, error) {
	if !validName(in.Name) {
		return nil, &Error{Kind: KindValidation, Message: msgInvalidName}
	}
	v, err := checkVersionValue(in.SecretString, in.SecretBinary, in.ClientRequestToken)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	arn := s.newARN(c, in.Name)
	if err := s.authorizeCreate(c, in, arn); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		var existing *storage.Secret
		err := s.store.View(ctx, func(tx storage.Tx) error {
			var err error
			existing, err = tx.SecretByName(c.Account, c.Region, in.Name)
			if errors.Is(err, storage.ErrNotFound) {
				existing, err = nil, nil
			}
			return err
		})
		if err != nil {
			return nil, s.internal(ctx, "CreateSecret", err)
		}
		if existing != nil {
			return s.createExisting(ctx, existing, in, v)
		}
		res, err := s.createNew(ctx, c, arn, in, v)
		if errors.Is(err, storage.ErrConflict) && attempt == 0 {
			continue // the name was taken meanwhile: answer as for an existing secret
		}
		if err != nil {
			return nil, s.internal(ctx, "CreateSecret", err)
		}
		return res, nil
	}
}

// authorizeCreate asks for secretsmanager:CreateSecret on the ARN the
// secret will get, and for TagResource too when the request carries tags.
func (s *Service) authorizeCreate(c Caller, in CreateInput, arn string) error {
	keys := func(pc *policy.Context) {
		pc.Set("secretsmanager:name", in.Name)
		setIf(pc, "secretsmanager:description", in.Description)
		setIf(pc, "secretsmanager:kmskeyid", in.KmsKeyID)
		setIf(pc, "secretsmanager:type", in.Type)
		if len(in.Tags) > 0 {
			tagKeys := make([]string, 0, len(in.Tags))
			for _, t := range in.Tags {
				pc.Set("aws:requesttag/"+t.Key, t.Value)
				tagKeys = append(tagKeys, t.Key)
			}
			pc.Set("aws:tagkeys", tagKeys...)
		}
	}
	if err := s.authorize(c, access{action: actCreateSecret, id: in.Name, keys: keys}, nil, arn); err != nil {
		return err
	}
	if len(in.Tags) > 0 {
		return s.authorize(c, access{action: actTagResource, id: in.Name, keys: keys}, nil, arn)
	}
	return nil
}

func (s *Service) createNew(ctx context.Context, c Caller, arn string, in CreateInput, v *Value) (*WriteResult, error) {
	now := s.now()
	sec := &storage.Secret{
		ARN:         arn,
		Account:     c.Account,
		Region:      c.Region,
		Name:        in.Name,
		Description: deref(in.Description),
		KmsKeyID:    normalizeKeyID(deref(in.KmsKeyID)),
		Type:        deref(in.Type),
		Tags:        slices.Clone(in.Tags),
		TagsSet:     len(in.Tags) > 0,
		Created:     now,
		LastChanged: now,
	}
	res := &WriteResult{ARN: sec.ARN, Name: sec.Name}
	var ver *storage.Version
	if v != nil {
		ct, err := s.keys.seal(ctx, c.Account, c.Region, sec.KmsKeyID, sec.ARN, *in.ClientRequestToken, *v)
		if err != nil {
			return nil, err
		}
		ver = &storage.Version{SecretARN: sec.ARN, VersionID: *in.ClientRequestToken, Created: now,
			KmsKeyID: sec.KmsKeyID, Binary: v.IsBinary(), Ciphertext: ct}
		sec.Stages = map[string][]string{ver.VersionID: {StageCurrent}}
		res.VersionID = ver.VersionID
	}
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.InsertSecret(sec); err != nil {
			return err
		}
		if ver != nil {
			if err := tx.InsertVersion(ver); err != nil {
				return err
			}
		}
		return s.commitAudit(ctx, tx, sec.Account, sec.ARN, elems(res.ARN, res.Name, res.VersionID))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// createExisting answers a CreateSecret whose name is taken: a retry with the
// same token and value succeeds with the first answer (idempotency).
func (s *Service) createExisting(ctx context.Context, sec *storage.Secret, in CreateInput, v *Value) (*WriteResult, error) {
	if deleted(sec) {
		return nil, &Error{Kind: KindInvalidRequest, Message: msgScheduledCreate}
	}
	if v != nil {
		same, found, err := s.sameVersion(ctx, sec, *in.ClientRequestToken, *v)
		if err != nil {
			return nil, err
		}
		if found && same {
			return &WriteResult{ARN: sec.ARN, Name: sec.Name, VersionID: *in.ClientRequestToken}, nil
		}
		if found {
			return nil, errTokenInUse(*in.ClientRequestToken, sec.ARN)
		}
	}
	return nil, errorf(KindResourceExists, "The operation failed because the secret %s already exists.", sec.Name)
}

// sameVersion reports whether versionID exists in sec and whether it holds v.
func (s *Service) sameVersion(ctx context.Context, sec *storage.Secret, versionID string, v Value) (same, found bool, err error) {
	var ver *storage.Version
	err = s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		ver, err = tx.Version(sec.ARN, versionID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, s.internal(ctx, "idempotency", err)
	}
	if ver.Ciphertext == nil {
		return false, true, nil
	}
	old, err := s.keys.open(ctx, sec.ARN, ver)
	if err != nil {
		return false, true, err
	}
	return old.Equal(v), true, nil
}

// GetValueInput is GetSecretValue's request.
type GetValueInput struct {
	SecretID     string
	VersionID    *string
	VersionStage *string
}

// SecretValue is a version with its value in clear.
type SecretValue struct {
	ARN       string
	Name      string
	VersionID string
	Value     Value
	Stages    []string // nil for a deprecated version
	Created   time.Time
}

// GetSecretValue returns the value of one version, AWSCURRENT by default.
func (s *Service) GetSecretValue(ctx context.Context, c Caller, in GetValueInput) (*SecretValue, error) {
	var sec *storage.Secret
	var ver *storage.Version
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		if sec, err = s.resolve(tx, c, access{action: actGetSecretValue, id: in.SecretID, keys: func(pc *policy.Context) {
			setIf(pc, "secretsmanager:versionid", in.VersionID)
			setIf(pc, "secretsmanager:versionstage", in.VersionStage)
		}}); err != nil {
			return err
		}
		if deleted(sec) {
			return errMarked()
		}
		if err := crossAccountValue(c, sec); err != nil {
			return err
		}
		vid := deref(in.VersionID)
		if vid != "" {
			if ver, err = tx.Version(sec.ARN, vid); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					return errorf(KindResourceNotFound, "Secrets Manager can't find the specified secret value for VersionId: %s", vid)
				}
				return err
			}
			if in.VersionStage != nil && !slices.Contains(sec.Stages[vid], *in.VersionStage) {
				return &Error{Kind: KindInvalidRequest, Message: msgStageMismatch}
			}
			if ver.Ciphertext == nil {
				return errorf(KindResourceNotFound, "Secrets Manager can't find the specified secret value for VersionId: %s", vid)
			}
			return nil
		}
		stage := StageCurrent
		if in.VersionStage != nil {
			stage = *in.VersionStage
		}
		missing := func() error {
			return errorf(KindResourceNotFound, "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		}
		vid = stages(sec.Stages).holder(stage)
		if vid == "" {
			return missing()
		}
		if ver, err = tx.Version(sec.ARN, vid); err != nil {
			return err
		}
		if ver.Ciphertext == nil {
			return missing()
		}
		return nil
	})
	if err != nil {
		return nil, s.internal(ctx, "GetSecretValue", err)
	}
	val, err := s.keys.open(ctx, sec.ARN, ver)
	if err != nil {
		return nil, err
	}
	if today := midnight(s.now()); !sec.LastAccessed.Equal(today) || !ver.LastAccessed.Equal(today) {
		s.touch(ctx, sec.ARN, ver.VersionID, today)
	}
	return &SecretValue{
		ARN: sec.ARN, Name: sec.Name, VersionID: ver.VersionID, Value: val,
		Stages: slices.Clone(sec.Stages[ver.VersionID]), Created: ver.Created,
	}, nil
}

// touch records the day of a read on the secret and the version. It runs at
// most once per secret and version a day; a failure is logged, not returned,
// because the read itself succeeded.
func (s *Service) touch(ctx context.Context, arn, versionID string, day time.Time) {
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		sec, err := tx.SecretByARN(arn)
		if err != nil {
			return err
		}
		if !sec.LastAccessed.Equal(day) {
			sec.LastAccessed = day
			if err := tx.UpdateSecret(sec); err != nil {
				return err
			}
		}
		ver, err := tx.Version(arn, versionID)
		if err != nil {
			return err
		}
		if !ver.LastAccessed.Equal(day) {
			ver.LastAccessed = day
			return tx.UpdateVersion(ver)
		}
		return nil
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.log.WarnContext(ctx, "recording last access", "secret", arn, "err", err)
	}
}

// PutInput is PutSecretValue's request. VersionStages nil means "not given".
type PutInput struct {
	SecretID           string
	ClientRequestToken *string
	SecretString       *string
	SecretBinary       []byte
	VersionStages      []string
	// RotationToken, when given, must be the token of the rotation in
	// progress (BEHAVIOUR.md §10.4).
	RotationToken *string
}

// errRetryIdempotent makes PutSecretValue answer as a retry when the version
// its token names exists already.
var errRetryIdempotent = errors.New("version exists")

// PutSecretValue writes a new version and moves staging labels.
func (s *Service) PutSecretValue(ctx context.Context, c Caller, in PutInput) (*WriteResult, error) {
	if err := checkToken(in.ClientRequestToken); err != nil {
		return nil, err
	}
	v, err := checkValue(in.SecretString, in.SecretBinary)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, &Error{Kind: KindInvalidRequest, Message: msgNoValue}
	}
	token := *in.ClientRequestToken
	sec, err := s.active(ctx, c, access{action: actPutSecretValue, id: in.SecretID}, "PutSecretValue")
	if err != nil {
		return nil, err
	}
	if err := crossAccountValue(c, sec); err != nil {
		return nil, err
	}
	if err := checkRotationToken(sec, in.RotationToken); err != nil {
		return nil, err
	}
	// One ciphertext serves both a new version and a placeholder to fill:
	// both are bound to the same secret and version id.
	ct, err := s.keys.seal(ctx, sec.Account, sec.Region, sec.KmsKeyID, sec.ARN, token, *v)
	if err != nil {
		return nil, err
	}
	res, err := s.putNew(ctx, sec, token, in.VersionStages, v.IsBinary(), ct)
	if errors.Is(err, errRetryIdempotent) {
		// The token names a version already: a rotation's placeholder to
		// fill, a retry (same value) or a conflict.
		res, err = s.fillPlaceholder(ctx, sec, token, in.VersionStages, v.IsBinary(), ct)
		if errors.Is(err, errRetryIdempotent) {
			return s.putExisting(ctx, sec, token, *v)
		}
	}
	if err != nil {
		return nil, s.internal(ctx, "PutSecretValue", err)
	}
	return res, nil
}

func (s *Service) putExisting(ctx context.Context, sec *storage.Secret, token string, v Value) (*WriteResult, error) {
	same, _, err := s.sameVersion(ctx, sec, token, v)
	if err != nil {
		return nil, err
	}
	if !same {
		return nil, errTokenInUse(token, sec.ARN)
	}
	return &WriteResult{ARN: sec.ARN, Name: sec.Name, VersionID: token, Stages: slices.Clone(sec.Stages[token])}, nil
}

// putNew inserts the version token with the sealed value ct.
func (s *Service) putNew(ctx context.Context, sec *storage.Secret, token string, labels []string, binary bool, ct []byte) (*WriteResult, error) {
	now := s.now()
	res := &WriteResult{ARN: sec.ARN, Name: sec.Name, VersionID: token}
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(sec.ARN)
		if err != nil {
			return notFound(err)
		}
		if deleted(cur) {
			return errMarked()
		}
		if res.Stages, err = s.insertVersion(tx, cur, token, labels, sec.KmsKeyID, binary, ct, now); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return errRetryIdempotent // the version appeared since the lookup
			}
			return err
		}
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, elems(res.ARN, res.Name, res.VersionID))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// fillPlaceholder stores the sealed value ct in the valueless version
// token (the AWSPENDING placeholder of a rotation, BEHAVIOUR.md §10.3) and
// applies labels as a new version would. It returns errRetryIdempotent
// when the version has a value already.
func (s *Service) fillPlaceholder(ctx context.Context, sec *storage.Secret, token string, labels []string, binary bool, ct []byte) (*WriteResult, error) {
	now := s.now()
	res := &WriteResult{ARN: sec.ARN, Name: sec.Name, VersionID: token}
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		cur, err := tx.SecretByARN(sec.ARN)
		if err != nil {
			return notFound(err)
		}
		if deleted(cur) {
			return errMarked()
		}
		ver, err := tx.Version(sec.ARN, token)
		if err != nil {
			return err
		}
		if ver.Ciphertext != nil {
			return errRetryIdempotent
		}
		ver.Ciphertext, ver.KmsKeyID, ver.Binary = ct, sec.KmsKeyID, binary
		if err := tx.UpdateVersion(ver); err != nil {
			return err
		}
		st := stages(cur.Stages).clone()
		res.Stages = st.addVersion(token, dedupe(labels))
		if st.count() > maxLabels {
			return &Error{Kind: KindLimitExceeded, Message: msgTooManyLabels}
		}
		cur.Stages = st
		cur.LastChanged = now
		if err := noteNewVersion(cur, token, now); err != nil {
			return err
		}
		if err := tx.UpdateSecret(cur); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, cur.Account, cur.ARN, elems(res.ARN, res.Name, res.VersionID))
	})
	if errors.Is(err, errRetryIdempotent) {
		return nil, err
	}
	if err != nil {
		return nil, s.internal(ctx, "PutSecretValue", err)
	}
	return res, nil
}

// Metadata is what DescribeSecret and ListSecrets tell about a secret; it
// never holds a value.
type Metadata struct {
	ARN         string
	Name        string
	Description string
	KmsKeyID    string // "" for the default key
	Type        string
	Tags        []Tag
	TagsSet     bool
	// VersionIDsToStages lists labelled versions only.
	VersionIDsToStages map[string][]string
	Created            time.Time
	LastChanged        time.Time
	LastAccessed       time.Time // zero when never read
	DeletedDate        time.Time // zero unless scheduled for deletion

	// Rotation (rotation.go): RotationEnabled is nil until rotation was
	// ever configured; NextRotation is zero while it is disabled.
	RotationEnabled   *bool
	RotationLambdaARN string
	RotationRules     *RotationRules
	LastRotated       time.Time
	NextRotation      time.Time
}

func metadata(sec *storage.Secret) *Metadata {
	m := &Metadata{
		ARN: sec.ARN, Name: sec.Name, Description: sec.Description, KmsKeyID: sec.KmsKeyID, Type: sec.Type,
		Tags: slices.Clone(sec.Tags), TagsSet: sec.TagsSet,
		Created: sec.Created, LastChanged: sec.LastChanged, LastAccessed: sec.LastAccessed, DeletedDate: sec.DeletionDate,
	}
	if len(sec.Stages) > 0 {
		m.VersionIDsToStages = stages(sec.Stages).clone()
	}
	if len(sec.Attrs) > 0 {
		rotationMetadata(m, sec)
	}
	return m
}

// DescribeSecret returns a secret's metadata; it works on secrets scheduled
// for deletion too.
func (s *Service) DescribeSecret(ctx context.Context, c Caller, secretID string) (*Metadata, error) {
	var sec *storage.Secret
	err := s.store.View(ctx, func(tx storage.Tx) error {
		var err error
		sec, err = s.resolve(tx, c, access{action: actDescribeSecret, id: secretID})
		return err
	})
	if err != nil {
		return nil, s.internal(ctx, "DescribeSecret", err)
	}
	return metadata(sec), nil
}

// ListInput is ListSecrets' request.
type ListInput struct {
	IncludePlannedDeletion bool
	MaxResults             int // 0: default (100)
	NextToken              string
	Filters                []Filter
	SortBy                 *string // SortBy* values; nil: created-date
	SortOrder              *string // SortOrder* values; nil: asc
}

// ListResult is one page of secrets.
type ListResult struct {
	Secrets   []*Metadata
	NextToken string // "" on the last page
}

// ListSecrets returns a page of the caller's secrets that match every
// filter, in the requested order (creation date, oldest first, by default).
// Filter semantics, sorting and tokens: filter.go.
func (s *Service) ListSecrets(ctx context.Context, c Caller, in ListInput) (*ListResult, error) {
	limit := in.MaxResults
	if limit <= 0 {
		limit = 100
	}
	page, next, err := s.listPage(ctx, c, "ListSecrets", listRequest{
		Filters:        in.Filters,
		SortBy:         in.SortBy,
		SortOrder:      in.SortOrder,
		IncludeDeleted: in.IncludePlannedDeletion,
		Limit:          limit,
		NextToken:      in.NextToken,
	})
	if err != nil {
		return nil, err
	}
	res := &ListResult{Secrets: make([]*Metadata, 0, len(page)), NextToken: next}
	for _, sec := range page {
		res.Secrets = append(res.Secrets, metadata(sec))
	}
	return res, nil
}

// DeleteInput is DeleteSecret's request.
type DeleteInput struct {
	SecretID                   string
	RecoveryWindowInDays       *int64
	ForceDeleteWithoutRecovery *bool
}

// DeleteResult answers DeleteSecret.
type DeleteResult struct {
	ARN          string
	Name         string
	DeletionDate time.Time
}

// DeleteSecret schedules a secret for deletion after a recovery window
// (default 30 days), or removes it at once when forced.
func (s *Service) DeleteSecret(ctx context.Context, c Caller, in DeleteInput) (*DeleteResult, error) {
	force := in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery
	window := int64(30)
	if in.RecoveryWindowInDays != nil {
		window = *in.RecoveryWindowInDays
		if window < 7 || window > 30 {
			return nil, &Error{Kind: KindInvalidParameter, Message: msgRecoveryWindow}
		}
		if force {
			return nil, &Error{Kind: KindInvalidParameter, Message: msgForceAndWindow}
		}
	}
	now := s.now()
	var res *DeleteResult
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		sec, err := s.resolve(tx, c, access{action: actDeleteSecret, id: in.SecretID, keys: func(pc *policy.Context) {
			if in.ForceDeleteWithoutRecovery != nil {
				pc.Set("secretsmanager:forcedeletewithoutrecovery", strconv.FormatBool(*in.ForceDeleteWithoutRecovery))
			}
			if in.RecoveryWindowInDays != nil {
				pc.Set("secretsmanager:recoverywindowindays", strconv.FormatInt(*in.RecoveryWindowInDays, 10))
			}
		}})
		var de *Error
		if force && errors.As(err, &de) && de.Kind == KindResourceNotFound {
			// AWS answers a forced delete of nothing as if it deleted something.
			res = s.phantomDelete(c, in.SecretID, now)
			return s.commitAudit(ctx, tx, c.Account, res.ARN, deleteElems(res))
		}
		if err != nil {
			return err
		}
		if force {
			res = &DeleteResult{ARN: sec.ARN, Name: sec.Name, DeletionDate: now}
			if err := tx.DeleteSecret(sec.ARN); err != nil {
				return err
			}
			return s.commitAudit(ctx, tx, sec.Account, sec.ARN, deleteElems(res))
		}
		if deleted(sec) {
			return &Error{Kind: KindInvalidRequest, Message: msgAlreadyDeleted}
		}
		sec.DeletionDate = now.Add(time.Duration(window) * 24 * time.Hour)
		res = &DeleteResult{ARN: sec.ARN, Name: sec.Name, DeletionDate: sec.DeletionDate}
		if err := tx.UpdateSecret(sec); err != nil {
			return err
		}
		return s.commitAudit(ctx, tx, sec.Account, sec.ARN, deleteElems(res))
	})
	if err != nil {
		return nil, s.internal(ctx, "DeleteSecret", err)
	}
	return res, nil
}

func (s *Service) phantomDelete(c Caller, id string, now time.Time) *DeleteResult {
	if strings.HasPrefix(id, "arn:") {
		name := id[strings.LastIndexByte(id, ':')+1:]
		return &DeleteResult{ARN: id, Name: name, DeletionDate: now}
	}
	return &DeleteResult{ARN: s.newARN(c, id), Name: id, DeletionDate: now}
}

// RestoreSecret cancels a scheduled deletion. On an active secret it is a
// no-op that succeeds.
func (s *Service) RestoreSecret(ctx context.Context, c Caller, secretID string) (*WriteResult, error) {
	var res *WriteResult
	err := s.store.Update(ctx, func(tx storage.Tx) error {
		sec, err := s.resolve(tx, c, access{action: actRestoreSecret, id: secretID})
		if err != nil {
			return err
		}
		res = &WriteResult{ARN: sec.ARN, Name: sec.Name}
		if !deleted(sec) {
			return s.commitAudit(ctx, tx, sec.Account, sec.ARN, elems(res.ARN, res.Name, ""))
		}
		sec.DeletionDate = time.Time{}
		if err := tx.UpdateSecret(sec); err != nil {
			return err
		}
		if err := s.commitAudit(ctx, tx, sec.Account, sec.ARN, elems(res.ARN, res.Name, "")); err != nil {
			return err
		}
		return s.auditRestore(tx, sec.ARN)
	})
	if err != nil {
		return nil, s.internal(ctx, "RestoreSecret", err)
	}
	return res, nil
}

func checkTags(tags []Tag) error {
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return errorf(KindInvalidParameter, "Invalid tag key. The aws: prefix is reserved for AWS use.")
		}
	}
	return nil
}

func normalizeKeyID(id string) string {
	if id == DefaultKeyID {
		return ""
	}
	return id
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
