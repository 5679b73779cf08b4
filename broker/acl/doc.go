// Package acl is the broker's authorizer: Kafka's StandardAuthorizer
// semantics (KIP-801; the same rules as the older AclAuthorizer) over the
// ACLs of a metadata.Image. It is pure: handlers ask Authorize and get a
// decision; nothing here touches a connection.
//
// It imports only metadata of ours.
//
// # Rules (StandardAuthorizerData.authorize)
//
//  1. A principal named in super.users is allowed everything.
//  2. The ACLs considered are those of the action's resource type whose
//     pattern matches the resource name: LITERAL with the same name,
//     LITERAL "*" (any name), PREFIXED with a name the resource name starts
//     with. Of those, an ACL applies when its principal is the request's
//     or "User:*", and its host is the client's address or "*".
//  3. A DENY ACL applies when its operation is the action's or ALL; an
//     ALLOW ACL also when it implies the action's: READ, WRITE, DELETE and
//     ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS.
//  4. Any applicable DENY wins; else any applicable ALLOW allows.
//  5. Otherwise the action is denied, unless the resource has no matching
//     ACL at all (for any principal, host or operation) and
//     allow.everyone.if.no.acl.found is true.
//
// # Goroutines
//
// None. An Authorizer is immutable (built from one image) and safe for
// concurrent use; build a new one when the image's ACLs change.
package acl
