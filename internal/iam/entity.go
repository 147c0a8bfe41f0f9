package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/coffer-dev/coffer/internal/storage"
)

// doc is the JSON document an entity keeps in storage.Entity.Doc. One type
// serves every kind; each kind uses its own fields and leaves the others
// empty (omitted from the JSON).
type doc struct {
	Tags []Tag `json:"tags,omitempty"`
	// Inline maps an inline policy's name to its document (users, groups,
	// roles).
	Inline map[string]string `json:"inline,omitempty"`
	// Attached lists the ARNs of the attached managed policies, in the
	// order they were attached (users, groups, roles).
	Attached []string `json:"attached,omitempty"`
	// Groups names the groups a user belongs to, as the groups spell
	// their names (users). Memberships live on the user alone.
	Groups []string `json:"groups,omitempty"`

	// Roles.
	Description        string `json:"description,omitempty"`
	TrustPolicy        string `json:"trust,omitempty"`
	MaxSessionDuration int    `json:"maxSession,omitempty"`

	// Managed policies.
	Versions        []storedVersion `json:"versions,omitempty"`
	DefaultVersion  string          `json:"default,omitempty"`
	NextVersion     int             `json:"next,omitempty"`
	UpdatedMS       int64           `json:"updated,omitempty"`
	AttachmentCount int             `json:"attachments,omitempty"`
}

type storedVersion struct {
	ID        string `json:"id"`
	Document  string `json:"doc"`
	CreatedMS int64  `json:"created"`
}

// entity is a storage.Entity with its doc decoded.
type entity struct {
	rec *storage.Entity
	doc doc
}

func decodeEntity(e *storage.Entity) (*entity, error) {
	out := &entity{rec: e}
	if len(e.Doc) > 0 {
		if err := json.Unmarshal(e.Doc, &out.doc); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", e.Kind, e.Name, err)
		}
	}
	return out, nil
}

func (e *entity) encode() error {
	b, err := json.Marshal(&e.doc)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", e.rec.Kind, e.rec.Name, err)
	}
	e.rec.Doc = b
	return nil
}

// save writes e back in tx.
func (e *entity) save(tx storage.Tx) error {
	if err := e.encode(); err != nil {
		return err
	}
	return tx.UpdateEntity(e.rec)
}

// kindNoun is how IAM's messages name each kind.
func kindNoun(k storage.EntityKind) string {
	switch k {
	case storage.EntityUser:
		return "user"
	case storage.EntityGroup:
		return "group"
	case storage.EntityRole:
		return "role"
	}
	return "policy"
}

// kindTitle is the capitalised noun ("User", "Group", "Role").
func kindTitle(k storage.EntityKind) string {
	n := kindNoun(k)
	return strings.ToUpper(n[:1]) + n[1:]
}

// loadEntity reads the named entity; a missing one is IAM's NoSuchEntity.
func loadEntity(tx storage.Tx, account string, kind storage.EntityKind, name string) (*entity, error) {
	rec, err := tx.Entity(account, kind, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, noSuchEntity(kind, name)
	}
	if err != nil {
		return nil, err
	}
	return decodeEntity(rec)
}

// Errors in IAM's words.

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func noSuchEntity(kind storage.EntityKind, name string) *Error {
	return newError("NoSuchEntity", "The %s with name %s cannot be found.", kindNoun(kind), name)
}

func alreadyExists(kind storage.EntityKind, name string) *Error {
	if kind == storage.EntityPolicy {
		return newError("EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
	}
	return newError("EntityAlreadyExists", "%s with name %s already exists.", kindTitle(kind), name)
}

func deleteConflict(msg string) *Error { return &Error{Code: "DeleteConflict", Message: msg} }

// validationError is the ValidationError of one member, in AWS's form.
func validationError(value, member, constraint string) *Error {
	return newError("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s",
		value, member, constraint)
}

// Names, paths and identifiers.

var (
	nameRE = regexp.MustCompile(`^[\w+=,.@-]+$`)
	// pathRE is IAM's path pattern: "/" or "/" + printable ASCII + "/".
	pathRE = regexp.MustCompile(`^(/|/[!-~]+/)$`)
)

// Name length limits of each kind.
var nameMax = map[storage.EntityKind]int{
	storage.EntityUser:   64,
	storage.EntityGroup:  128,
	storage.EntityRole:   64,
	storage.EntityPolicy: 128,
}

// validateName checks an entity name; member is the wire member's name
// (userName, groupName, roleName, policyName).
func validateName(kind storage.EntityKind, member, name string) error {
	if len(name) < 1 {
		return validationError(name, member, "Member must have length greater than or equal to 1")
	}
	if max := nameMax[kind]; len(name) > max {
		return validationError(name, member, "Member must have length less than or equal to "+strconv.Itoa(max))
	}
	if !nameRE.MatchString(name) {
		return validationError(name, member, `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

// validateInlineName checks an inline policy's name.
func validateInlineName(name string) error {
	if len(name) < 1 {
		return validationError(name, "policyName", "Member must have length greater than or equal to 1")
	}
	if len(name) > 128 {
		return validationError(name, "policyName", "Member must have length less than or equal to 128")
	}
	if !nameRE.MatchString(name) {
		return validationError(name, "policyName", `Member must satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

// normPath returns the path ("" means "/") or IAM's ValidationError.
func normPath(path, member string) (string, error) {
	if path == "" {
		return "/", nil
	}
	if len(path) > 512 {
		return "", validationError(path, member, "Member must have length less than or equal to 512")
	}
	if !pathRE.MatchString(path) {
		return "", validationError(path, member, `Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	}
	return path, nil
}

// normPathPrefix checks a list's PathPrefix ("" means "/").
func normPathPrefix(prefix string) (string, error) {
	if prefix == "" {
		return "/", nil
	}
	if len(prefix) > 512 {
		return "", validationError(prefix, "pathPrefix", "Member must have length less than or equal to 512")
	}
	if !regexp.MustCompile(`^/[!-~]*$`).MatchString(prefix) {
		return "", validationError(prefix, "pathPrefix", `Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
	}
	return prefix, nil
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// idPrefix is the prefix of each kind's unique id.
var idPrefix = map[storage.EntityKind]string{
	storage.EntityUser:   "AIDA",
	storage.EntityGroup:  "AGPA",
	storage.EntityRole:   "AROA",
	storage.EntityPolicy: "ANPA",
}

// newID returns a 21-character unique id in AWS's shape for kind.
func newID(kind storage.EntityKind) string { return idPrefix[kind] + randomString(17, idChars) }

// arn returns the ARN of an entity of kind in account.
func (s *Service) arn(account string, kind storage.EntityKind, path, name string) string {
	return "arn:" + s.partition + ":iam::" + account + ":" + kindNoun(kind) + path + name
}

func (s *Service) entityARN(e *storage.Entity) string {
	return s.arn(e.Account, e.Kind, e.Path, e.Name)
}

// Time.

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Tags.

// validateTags checks tags as IAM does: at most 50, keys 1..128 and values
// 0..256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@], no key twice (keys
// compare case-insensitively).
func validateTags(tags []Tag) error {
	if len(tags) > 50 {
		return newError("ValidationError", "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 {
			return validationError(t.Key, "tags.member.key", "Member must have length less than or equal to 128")
		}
		if len(t.Value) > 256 {
			return validationError(t.Value, "tags.member.value", "Member must have length less than or equal to 256")
		}
		if !tagChars(t.Key) {
			return validationError(t.Key, "tags.member.key", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		if !tagChars(t.Value) {
			return validationError(t.Value, "tags.member.value", `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
		k := strings.ToLower(t.Key)
		if seen[k] {
			return newError("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

func tagChars(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Z, r) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// mergeTags adds or replaces tags (keys compare case-insensitively; the new
// spelling wins) and checks the 50-tag quota.
func mergeTags(kind storage.EntityKind, have, add []Tag) ([]Tag, error) {
	out := append([]Tag(nil), have...)
	for _, t := range add {
		found := false
		for i := range out {
			if strings.EqualFold(out[i].Key, t.Key) {
				out[i] = t
				found = true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	if len(out) > 50 {
		return nil, newError("LimitExceeded", "Cannot exceed quota for TagsPer%s: 50", kindTitle(kind))
	}
	return out, nil
}

func removeTags(have []Tag, keys []string) []Tag {
	var out []Tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			if strings.EqualFold(t.Key, k) {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}

// policySize is a document's length without whitespace, as IAM counts it
// against its quotas.
func policySize(document string) int {
	n := 0
	for _, r := range document {
		if !unicode.IsSpace(r) {
			n += len(string(r))
		}
	}
	return n
}
