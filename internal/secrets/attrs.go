package secrets

import (
	"encoding/json"
	"fmt"
)

// attrs is the domain's document in storage.Secret.Attrs: the settings of a
// secret beyond its columns. Fields are omitted when empty, so a secret
// without any keeps Attrs nil.
type attrs struct {
	// ResourcePolicy is the secret's resource policy as the caller wrote it.
	ResourcePolicy string `json:"resourcePolicy,omitempty"`
	// Rotation is the rotation configuration and the run in progress;
	// nil until RotateSecret was first called (rotation.go).
	Rotation *rotationAttrs `json:"rotation,omitempty"`
}

func decodeAttrs(b []byte) (attrs, error) {
	var a attrs
	if len(b) == 0 {
		return a, nil
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("secret attributes: %w", err)
	}
	return a, nil
}

// encode returns the document, nil when every field is empty.
func (a attrs) encode() []byte {
	if a == (attrs{}) {
		return nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		panic(err) // strings, numbers and times always marshal
	}
	return b
}
