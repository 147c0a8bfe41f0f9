package smapi

import (
	"strconv"
	"strings"
)

// ValidationError lists every constraint of the model that a value breaks.
// Its Error text is the message AWS sends with a ValidationException:
//
//	1 validation error detected: Value 'abc' at 'clientRequestToken' failed to satisfy constraint: Member must have length greater than or equal to 32
//
// and, for several, "N validation errors detected: " followed by the
// violations joined with "; ".
type ValidationError struct {
	// Violations holds one entry per broken constraint, in member order of
	// the model, each in AWS's wording ("Value '<v>' at '<path>' failed to
	// satisfy constraint: <constraint>"). Paths use lower-camel member names,
	// 1-based list indexes and ".member" (filters.1.member.key). The value of
	// a sensitive member is never included ("Value at 'secretString' ...");
	// nor is the value of a blob, a map or a non-empty list of structures.
	Violations []string
}

func (e *ValidationError) Error() string {
	if len(e.Violations) == 1 {
		return "1 validation error detected: " + e.Violations[0]
	}
	return strconv.Itoa(len(e.Violations)) + " validation errors detected: " +
		strings.Join(e.Violations, "; ")
}

// validator collects violations while the generated validate methods walk a
// value.
type validator struct {
	violations []string
}

// err returns the collected violations as a *ValidationError, or nil.
func (v *validator) err() error {
	if len(v.violations) == 0 {
		return nil
	}
	return &ValidationError{Violations: v.violations}
}

// null records a missing required member.
func (v *validator) null(path string) {
	v.violations = append(v.violations,
		"Value null at '"+path+"' failed to satisfy constraint: Member must not be null")
}

// fail records a violation showing the value. Never pass a sensitive value.
func (v *validator) fail(path, value, constraint string) {
	v.violations = append(v.violations,
		"Value '"+value+"' at '"+path+"' failed to satisfy constraint: "+constraint)
}

// failHidden records a violation without the value.
func (v *validator) failHidden(path, constraint string) {
	v.violations = append(v.violations,
		"Value at '"+path+"' failed to satisfy constraint: "+constraint)
}

// failSize records a size violation of a list or map whose contents are not
// printed: an empty one shows as [], others without a value.
func (v *validator) failSize(path string, n int, constraint string) {
	if n == 0 {
		v.fail(path, "[]", constraint)
		return
	}
	v.failHidden(path, constraint)
}

// memberPath is the path of member (already lower-camel) inside parent.
func memberPath(parent, member string) string {
	if parent == "" {
		return member
	}
	return parent + "." + member
}

// elemPath is the path of the i-th (0-based) entry of the list at parent:
// AWS counts from 1 and adds ".member".
func elemPath(parent string, i int) string {
	return parent + "." + strconv.Itoa(i+1) + ".member"
}

// keyPath is the path of the entry with key k of the map at parent.
// [INFER] AWS's form for map entries was not observed; the only map in the
// model (SecretVersionsToStagesMapType) appears in responses only.
func keyPath(parent, k string) string {
	return parent + "." + k
}

// javaList renders a list of strings as AWS (Java's List.toString) does in
// violation messages: [a, b].
func javaList(l []string) string {
	return "[" + strings.Join(l, ", ") + "]"
}
