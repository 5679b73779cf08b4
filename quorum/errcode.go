package quorum

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// errorCode is the Kafka code the controller listener answers for err
// (network.ErrorCode): this package's sentinels carry theirs (ErrNotController
// and ErrClosed: NOT_CONTROLLER), the metadata errors get the same codes as on
// the broker listener, the request's own deadline REQUEST_TIMED_OUT, anything
// else UNKNOWN_SERVER_ERROR. The client (client.go) turns codes back into
// *kerr.Error values, which the broker passes on as they are.
func errorCode(err error) int16 { return network.ErrorCode(err) }

func errorMessage(err error) *string { return network.ErrorMessage(err) }

// codeError is the client's view of a code: nil for 0, else the *kerr.Error.
func codeError(code int16) error {
	if code == 0 {
		return nil
	}
	return kerr.ErrorForCode(code)
}

// codeErrorMessage is codeError carrying the controller's own message (e.g.
// which config key was invalid), so the broker can pass it on to the client;
// errors.As still finds the *kerr.Error.
func codeErrorMessage(code int16, msg *string) error {
	err := codeError(code)
	if err == nil || msg == nil || *msg == "" {
		return err
	}
	return fmt.Errorf("%w (controller: %s)", err, *msg)
}
