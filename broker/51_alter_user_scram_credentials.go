package broker

// AlterUserScramCredentials (key 51), version 0.
//
// Needs ALTER on the cluster, else every user's result is
// CLUSTER_AUTHORIZATION_FAILED. Deletions and upsertions go to the
// SecurityController in one call (quorum mode: the active controller
// writes UserScramCredentialRecords; ZooKeeper mode: this broker writes
// /config/users/<user> with a /config/changes notification), which
// validates per user with metadata.AlterScramCredentials: a user named
// twice is DUPLICATE_RESOURCE, an unknown mechanism
// UNSUPPORTED_SASL_MECHANISM, iterations outside 4096..16384 or an empty
// salt or password UNACCEPTABLE_CREDENTIAL, deleting a missing credential
// RESOURCE_NOT_FOUND. The client sends the salted password (KIP-554); the
// controller derives the stored and server keys. Served only when the
// controller implements SecurityController.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/zkraft/zkraft/metadata"
	"github.com/zkraft/zkraft/metadata/network"
)

func (b *Broker) handleAlterUserScramCredentials(ctx context.Context, req *network.Request, body *kmsg.AlterUserSCRAMCredentialsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	dels := make([]metadata.ScramDeletion, len(body.Deletions))
	for i, d := range body.Deletions {
		dels[i] = metadata.ScramDeletion{Name: d.Name, Mechanism: metadata.ScramMechanism(d.Mechanism)}
	}
	ups := make([]metadata.ScramUpsertion, len(body.Upsertions))
	for i, u := range body.Upsertions {
		ups[i] = metadata.ScramUpsertion{Name: u.Name, Mechanism: metadata.ScramMechanism(u.Mechanism),
			Iterations: u.Iterations, Salt: u.Salt, SaltedPassword: u.SaltedPassword}
	}
	var results []metadata.ScramAlterResult
	switch {
	case !b.authorizedCluster(req, opAlter):
		results = metadata.ScramAlterFailed(dels, ups, kerr.ClusterAuthorizationFailed)
	case len(dels)+len(ups) == 0:
	default:
		ctx, cancel := context.WithTimeout(ctx, b.cfg.ControllerTimeout)
		defer cancel()
		results = b.ctrl.(SecurityController).AlterScramCredentials(ctx, dels, ups)
	}
	for _, r := range results {
		rr := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		rr.User = r.User
		rr.ErrorCode, rr.ErrorMessage = errorCode(r.Err), errorMessage(r.Err)
		resp.Results = append(resp.Results, rr)
	}
	return resp, nil
}
