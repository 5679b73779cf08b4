package quorum

// The security writes (CreateAcls 30, DeleteAcls 31,
// AlterUserScramCredentials 51): brokers forward them over the Kafka
// protocol (Client), the controller listener hands them to the Node, which
// validates with metadata's pure logic against the image and appends the
// records as one raft entry (Node.write), as Kafka's ControllerApis and
// AclControlManager / ScramControlManager do. In PRE_MIGRATION they are
// refused with NOT_CONTROLLER like every other write, so a migrating
// broker retries until the load is done and the change is dual-written.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/zkraft/zkraft/metadata"
)

// CreateAcls writes an AccessControlEntryRecord (random id) for each new
// ACL and returns one error per binding (metadata.CreateAcls).
func (n *Node) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	errs, ok := writeEach(ctx, n, "create acls", func(img *metadata.Image) ([]metadata.Record, []error) {
		return metadata.CreateAcls(img, bindings, metadata.RandomUuid)
	}, failEach(len(bindings)))
	if ok {
		n.log.Info("created acls", zap.Int("bindings", len(bindings)))
	}
	return errs
}

// DeleteAcls removes every ACL a filter matches and returns what each
// filter matched (metadata.DeleteAcls).
func (n *Node) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	out, ok := writeEach(ctx, n, "delete acls", func(img *metadata.Image) ([]metadata.Record, []metadata.DeleteAclsResult) {
		return metadata.DeleteAcls(img, filters)
	}, func(err error) []metadata.DeleteAclsResult {
		out := make([]metadata.DeleteAclsResult, len(filters))
		for i := range out {
			out[i].Err = err
		}
		return out
	})
	if ok {
		n.log.Info("deleted acls", zap.Int("filters", len(filters)))
	}
	return out
}

// AlterScramCredentials writes the credential records of the users that
// pass metadata.AlterScramCredentials and returns one result per user.
func (n *Node) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	out, ok := writeEach(ctx, n, "alter scram credentials", func(img *metadata.Image) ([]metadata.Record, []metadata.ScramAlterResult) {
		return metadata.AlterScramCredentials(img, dels, ups)
	}, func(err error) []metadata.ScramAlterResult { return metadata.ScramAlterFailed(dels, ups, err) })
	if ok {
		n.log.Info("altered scram credentials", zap.Int("users", len(out)))
	}
	return out
}

// --- the controller listener -------------------------------------------------

func (h *controllerHandler) createAcls(ctx context.Context, body *kmsg.CreateACLsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.CreateACLsResponse)
	bindings := make([]metadata.AclBinding, len(body.Creations))
	for i, c := range body.Creations {
		bindings[i] = metadata.AclBinding{
			ResourceType: metadata.AclResourceType(c.ResourceType), ResourceName: c.ResourceName,
			PatternType: metadata.AclPatternType(c.ResourcePatternType), Principal: c.Principal, Host: c.Host,
			Operation: metadata.AclOperation(c.Operation), Permission: metadata.AclPermission(c.PermissionType),
		}
	}
	for _, err := range h.n.CreateAcls(ctx, bindings) {
		r := kmsg.NewCreateACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Results = append(resp.Results, r)
	}
	return resp
}

func (h *controllerHandler) deleteAcls(ctx context.Context, body *kmsg.DeleteACLsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.DeleteACLsResponse)
	filters := make([]metadata.AclFilter, len(body.Filters))
	for i, f := range body.Filters {
		filters[i] = metadata.AclFilter{
			ResourceType: metadata.AclResourceType(f.ResourceType), ResourceName: f.ResourceName,
			PatternType: metadata.AclPatternType(f.ResourcePatternType), Principal: f.Principal, Host: f.Host,
			Operation: metadata.AclOperation(f.Operation), Permission: metadata.AclPermission(f.PermissionType),
		}
	}
	for _, res := range h.n.DeleteAcls(ctx, filters) {
		r := kmsg.NewDeleteACLsResponseResult()
		r.ErrorCode, r.ErrorMessage = errorCode(res.Err), errorMessage(res.Err)
		for _, a := range res.Matched {
			b := a.Binding
			m := kmsg.NewDeleteACLsResponseResultMatchingACL()
			m.ResourceType, m.ResourceName = kmsg.ACLResourceType(b.ResourceType), b.ResourceName
			m.ResourcePatternType = kmsg.ACLResourcePatternType(b.PatternType)
			m.Principal, m.Host = b.Principal, b.Host
			m.Operation, m.PermissionType = kmsg.ACLOperation(b.Operation), kmsg.ACLPermissionType(b.Permission)
			r.MatchingACLs = append(r.MatchingACLs, m)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

func (h *controllerHandler) alterScram(ctx context.Context, body *kmsg.AlterUserSCRAMCredentialsRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	dels, ups := scramRequest(body)
	for _, res := range h.n.AlterScramCredentials(ctx, dels, ups) {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User = res.User
		r.ErrorCode, r.ErrorMessage = errorCode(res.Err), errorMessage(res.Err)
		resp.Results = append(resp.Results, r)
	}
	return resp
}

func scramRequest(body *kmsg.AlterUserSCRAMCredentialsRequest) ([]metadata.ScramDeletion, []metadata.ScramUpsertion) {
	dels := make([]metadata.ScramDeletion, len(body.Deletions))
	for i, d := range body.Deletions {
		dels[i] = metadata.ScramDeletion{Name: d.Name, Mechanism: metadata.ScramMechanism(d.Mechanism)}
	}
	ups := make([]metadata.ScramUpsertion, len(body.Upsertions))
	for i, u := range body.Upsertions {
		ups[i] = metadata.ScramUpsertion{Name: u.Name, Mechanism: metadata.ScramMechanism(u.Mechanism),
			Iterations: u.Iterations, Salt: u.Salt, SaltedPassword: u.SaltedPassword}
	}
	return dels, ups
}

// --- the broker's client -----------------------------------------------------

// CreateAcls forwards to the active controller and returns once this
// broker's image holds the created ACLs (broker.SecurityController).
func (c *Client) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	errs := make([]error, len(bindings))
	req := kmsg.NewPtrCreateACLsRequest()
	req.Version = 3
	for _, b := range bindings {
		cr := kmsg.NewCreateACLsRequestCreation()
		cr.ResourceType, cr.ResourceName = kmsg.ACLResourceType(b.ResourceType), b.ResourceName
		cr.ResourcePatternType = kmsg.ACLResourcePatternType(b.PatternType)
		cr.Principal, cr.Host = b.Principal, b.Host
		cr.Operation, cr.PermissionType = kmsg.ACLOperation(b.Operation), kmsg.ACLPermissionType(b.Permission)
		req.Creations = append(req.Creations, cr)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, res := range r.(*kmsg.CreateACLsResponse).Results {
			if isNotController(res.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err == nil && len(resp.(*kmsg.CreateACLsResponse).Results) != len(bindings) {
		err = fmt.Errorf("create acls: %d results for %d creations: %w", len(resp.(*kmsg.CreateACLsResponse).Results), len(bindings), kerr.UnknownServerError)
	}
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var created []metadata.AclBinding
	for i, res := range resp.(*kmsg.CreateACLsResponse).Results {
		if errs[i] = codeErrorMessage(res.ErrorCode, res.ErrorMessage); errs[i] == nil {
			created = append(created, bindings[i])
		}
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.AclsPresent(img, created) }); werr != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = werr
			}
		}
	}
	return errs
}

// DeleteAcls forwards to the active controller and returns once this
// broker's image no longer holds the matched ACLs
// (broker.SecurityController). The matched ACLs carry no ids.
func (c *Client) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	out := make([]metadata.DeleteAclsResult, len(filters))
	req := kmsg.NewPtrDeleteACLsRequest()
	req.Version = 3
	for _, f := range filters {
		rf := kmsg.NewDeleteACLsRequestFilter()
		rf.ResourceType, rf.ResourceName = kmsg.ACLResourceType(f.ResourceType), f.ResourceName
		rf.ResourcePatternType = kmsg.ACLResourcePatternType(f.PatternType)
		rf.Principal, rf.Host = f.Principal, f.Host
		rf.Operation, rf.PermissionType = kmsg.ACLOperation(f.Operation), kmsg.ACLPermissionType(f.Permission)
		req.Filters = append(req.Filters, rf)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, res := range r.(*kmsg.DeleteACLsResponse).Results {
			if isNotController(res.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err == nil && len(resp.(*kmsg.DeleteACLsResponse).Results) != len(filters) {
		err = fmt.Errorf("delete acls: %d results for %d filters: %w", len(resp.(*kmsg.DeleteACLsResponse).Results), len(filters), kerr.UnknownServerError)
	}
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	var gone []metadata.AclBinding
	for i, res := range resp.(*kmsg.DeleteACLsResponse).Results {
		if out[i].Err = codeErrorMessage(res.ErrorCode, res.ErrorMessage); out[i].Err != nil {
			continue
		}
		for _, m := range res.MatchingACLs {
			b := metadata.AclBinding{ResourceType: metadata.AclResourceType(m.ResourceType), ResourceName: m.ResourceName,
				PatternType: metadata.AclPatternType(m.ResourcePatternType), Principal: m.Principal, Host: m.Host,
				Operation: metadata.AclOperation(m.Operation), Permission: metadata.AclPermission(m.PermissionType)}
			out[i].Matched = append(out[i].Matched, metadata.AclEntry{Binding: b})
			gone = append(gone, b)
		}
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.AclsAbsent(img, gone) }); werr != nil {
		for i := range out {
			if out[i].Err == nil {
				out[i].Err = werr
			}
		}
	}
	return out
}

// AlterScramCredentials forwards to the active controller and returns
// once this broker's image shows the altered credentials
// (broker.SecurityController).
func (c *Client) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, d := range dels {
		rd := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		rd.Name, rd.Mechanism = d.Name, int8(d.Mechanism)
		req.Deletions = append(req.Deletions, rd)
	}
	for _, u := range ups {
		ru := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		ru.Name, ru.Mechanism, ru.Iterations = u.Name, int8(u.Mechanism), u.Iterations
		ru.Salt, ru.SaltedPassword = u.Salt, u.SaltedPassword
		req.Upsertions = append(req.Upsertions, ru)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, res := range r.(*kmsg.AlterUserSCRAMCredentialsResponse).Results {
			if isNotController(res.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return metadata.ScramAlterFailed(dels, ups, err)
	}
	byUser := map[string]error{}
	for _, res := range resp.(*kmsg.AlterUserSCRAMCredentialsResponse).Results {
		byUser[res.User] = codeErrorMessage(res.ErrorCode, res.ErrorMessage)
	}
	users := metadata.ScramUsers(dels, ups)
	out := make([]metadata.ScramAlterResult, len(users))
	for i, u := range users {
		err, ok := byUser[u]
		if !ok {
			err = fmt.Errorf("alter scram credentials of %q: no answer from the controller: %w", u, kerr.UnknownServerError)
		}
		out[i] = metadata.ScramAlterResult{User: u, Err: err}
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.ScramAltered(img, dels, ups, out) }); werr != nil {
		for i := range out {
			if out[i].Err == nil {
				out[i].Err = werr
			}
		}
	}
	return out
}

// CreateAcls implements broker.SecurityController (Client.CreateAcls).
func (s *BrokerSource) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	return s.client.CreateAcls(ctx, bindings)
}

// DeleteAcls implements broker.SecurityController (Client.DeleteAcls).
func (s *BrokerSource) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	return s.client.DeleteAcls(ctx, filters)
}

// AlterScramCredentials implements broker.SecurityController.
func (s *BrokerSource) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	return s.client.AlterScramCredentials(ctx, dels, ups)
}

// CreateAcls implements broker.SecurityController (Client.CreateAcls).
func (s *CombinedSource) CreateAcls(ctx context.Context, bindings []metadata.AclBinding) []error {
	return s.client.CreateAcls(ctx, bindings)
}

// DeleteAcls implements broker.SecurityController (Client.DeleteAcls).
func (s *CombinedSource) DeleteAcls(ctx context.Context, filters []metadata.AclFilter) []metadata.DeleteAclsResult {
	return s.client.DeleteAcls(ctx, filters)
}

// AlterScramCredentials implements broker.SecurityController.
func (s *CombinedSource) AlterScramCredentials(ctx context.Context, dels []metadata.ScramDeletion, ups []metadata.ScramUpsertion) []metadata.ScramAlterResult {
	return s.client.AlterScramCredentials(ctx, dels, ups)
}

// AlterClientQuotas writes the ClientQuotaRecords of the entries that pass
// metadata.AlterClientQuotas (none with validateOnly) and returns one
// error per entry.
func (n *Node) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	errs, _ := writeEach(ctx, n, "alter client quotas", func(img *metadata.Image) ([]metadata.Record, []error) {
		recs, errs := metadata.AlterClientQuotas(img, alts)
		if validateOnly {
			return nil, errs
		}
		return recs, errs
	}, failEach(len(alts)))
	return errs
}

func quotaAlterations(body *kmsg.AlterClientQuotasRequest) []metadata.QuotaAlteration {
	alts := make([]metadata.QuotaAlteration, len(body.Entries))
	for i, e := range body.Entries {
		for _, p := range e.Entity {
			alts[i].Entity = append(alts[i].Entity, metadata.QuotaEntityData{EntityType: p.Type, EntityName: p.Name})
		}
		alts[i].Entity = metadata.NewQuotaEntity(alts[i].Entity...)
		for _, op := range e.Ops {
			alts[i].Ops = append(alts[i].Ops, metadata.QuotaOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
	}
	return alts
}

func (h *controllerHandler) alterClientQuotas(ctx context.Context, body *kmsg.AlterClientQuotasRequest) kmsg.Response {
	resp := body.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	errs := h.n.AlterClientQuotas(ctx, quotaAlterations(body), body.ValidateOnly)
	for i, e := range body.Entries {
		re := kmsg.NewAlterClientQuotasResponseEntry()
		for _, p := range e.Entity {
			re.Entity = append(re.Entity, kmsg.AlterClientQuotasResponseEntryEntity{Type: p.Type, Name: p.Name})
		}
		re.ErrorCode, re.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
		resp.Entries = append(resp.Entries, re)
	}
	return resp
}

// AlterClientQuotas forwards to the active controller and returns once
// this broker's image shows the altered quotas (broker.QuotaController).
func (c *Client) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	errs := make([]error, len(alts))
	req := kmsg.NewPtrAlterClientQuotasRequest()
	req.Version, req.ValidateOnly = 1, validateOnly
	for _, a := range alts {
		e := kmsg.NewAlterClientQuotasRequestEntry()
		for _, p := range a.Entity {
			e.Entity = append(e.Entity, kmsg.AlterClientQuotasRequestEntryEntity{Type: p.EntityType, Name: p.EntityName})
		}
		for _, op := range a.Ops {
			e.Ops = append(e.Ops, kmsg.AlterClientQuotasRequestEntryOp{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
		req.Entries = append(req.Entries, e)
	}
	resp, err := c.call(ctx, "admin", req, func(r kmsg.Response) bool {
		for _, e := range r.(*kmsg.AlterClientQuotasResponse).Entries {
			if isNotController(e.ErrorCode) {
				return true
			}
		}
		return false
	})
	if err == nil && len(resp.(*kmsg.AlterClientQuotasResponse).Entries) != len(alts) {
		err = fmt.Errorf("alter client quotas: %d answers for %d entries: %w", len(resp.(*kmsg.AlterClientQuotasResponse).Entries), len(alts), kerr.UnknownServerError)
	}
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, e := range resp.(*kmsg.AlterClientQuotasResponse).Entries {
		errs[i] = codeErrorMessage(e.ErrorCode, e.ErrorMessage)
	}
	if validateOnly {
		return errs
	}
	if werr := c.waitImage(ctx, func(img *metadata.Image) bool { return metadata.QuotasAltered(img, alts, errs) }); werr != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = werr
			}
		}
	}
	return errs
}

// AlterClientQuotas implements broker.QuotaController.
func (s *BrokerSource) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	return s.client.AlterClientQuotas(ctx, alts, validateOnly)
}

// AlterClientQuotas implements broker.QuotaController.
func (s *CombinedSource) AlterClientQuotas(ctx context.Context, alts []metadata.QuotaAlteration, validateOnly bool) []error {
	return s.client.AlterClientQuotas(ctx, alts, validateOnly)
}
