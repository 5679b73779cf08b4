package quorum

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/zkraft/zkraft/metadata/network"
)

// codeTable maps this package's errors to the Kafka error codes the
// controller listener answers with; the metadata errors' codes come from
// network.MetadataCodes, shared with the broker handlers. The client
// (client.go) turns codes back into *kerr.Error values, which the broker
// passes on as they are.
var codeTable = []network.Code{
	{Err: ErrNotController, Code: kerr.NotController.Code},
	{Err: ErrClosed, Code: kerr.NotController.Code},
}

// errorCode is the Kafka code for err (see network.ErrorCode); anything
// unknown is UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	return network.ErrorCode(err, kerr.UnknownServerError.Code, codeTable, network.MetadataCodes, network.DeadlineCodes)
}

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
