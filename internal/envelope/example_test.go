package envelope_test

import (
	"fmt"

	"github.com/coffer-dev/coffer/internal/envelope"
)

func Example() {
	key, _ := envelope.NewKey() // in coffer: unwrapped from storage by the root key
	kek, _ := envelope.NewKEK("alias/aws/secretsmanager", key)
	clear(key)

	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
	ctx := envelope.Context(arn, "v1")
	ct, _ := envelope.Seal(kek, []byte("hunter2"), ctx)

	id, _ := envelope.KEKID(ct) // pick the KEK before opening
	value, _ := envelope.Open(kek, ct, ctx)
	_, err := envelope.Open(kek, ct, envelope.Context(arn, "v2"))
	fmt.Println(id)
	fmt.Println(string(value))
	fmt.Println(err)
	fmt.Println(kek)
	// Output:
	// alias/aws/secretsmanager
	// hunter2
	// envelope: message authentication failed
	// envelope.KEK{id:"alias/aws/secretsmanager"}
}
