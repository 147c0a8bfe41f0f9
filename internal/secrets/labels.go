package secrets

import "slices"

// The staging labels with a meaning of their own.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
	StagePending  = "AWSPENDING"
)

// maxLabels is the quota of staging labels across all versions of a secret.
const maxLabels = 20

// stages is a secret's label map: version id -> labels, for labelled versions
// only. Every function here keeps the invariant that a label is on at most one
// version and that a version without labels has no entry.
type stages map[string][]string

func (s stages) clone() stages {
	out := make(stages, len(s))
	for v, ls := range s {
		out[v] = slices.Clone(ls)
	}
	return out
}

// holder returns the version that carries label, or "".
func (s stages) holder(label string) string {
	for v, ls := range s {
		if slices.Contains(ls, label) {
			return v
		}
	}
	return ""
}

// count returns the number of labels attached across all versions.
func (s stages) count() int {
	n := 0
	for _, ls := range s {
		n += len(ls)
	}
	return n
}

// detach removes label from whichever version has it.
func (s stages) detach(label string) {
	for v, ls := range s {
		if i := slices.Index(ls, label); i >= 0 {
			ls = slices.Delete(ls, i, i+1)
			if len(ls) == 0 {
				delete(s, v)
			} else {
				s[v] = ls
			}
		}
	}
}

// attach moves label to version.
func (s stages) attach(label, version string) {
	if slices.Contains(s[version], label) {
		return
	}
	s.detach(label)
	s[version] = append(s[version], label)
}

// addVersion applies the label moves of a new version written by
// PutSecretValue or UpdateSecret (BEHAVIOUR.md §4.2): the new version gets
// labels (AWSCURRENT when none are given, and always on a secret's first
// version); every given label leaves the version that had it; when AWSCURRENT
// moves, AWSPREVIOUS goes to the version that lost it and AWSPENDING is
// dropped unless the new version is given it. The outgoing current version
// keeps its custom labels. It returns the labels of the new version.
func (s stages) addVersion(version string, labels []string) []string {
	if labels == nil {
		labels = []string{StageCurrent}
	}
	if s.holder(StageCurrent) == "" && !slices.Contains(labels, StageCurrent) {
		labels = append(slices.Clone(labels), StageCurrent)
	}
	if slices.Contains(labels, StageCurrent) {
		if old := s.holder(StageCurrent); old != "" && old != version {
			s.attach(StagePrevious, old)
		}
		if !slices.Contains(labels, StagePending) {
			s.detach(StagePending)
		}
	}
	for _, l := range labels {
		s.attach(l, version)
	}
	return slices.Clone(s[version])
}

// dedupe returns labels without repeats, in first-seen order.
func dedupe(labels []string) []string {
	if labels == nil {
		return nil
	}
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}
