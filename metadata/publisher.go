package metadata

// Publisher receives the images of a metadata source (Kafka's
// MetadataPublisher): the broker (broker.Broker), the migration driver, a
// test recorder. It is declared here, below every source and consumer, so
// that a source in quorum, metadata/zk or migrate and a consumer in broker
// name the same type.
//
// Contract: a source calls Publish with every image it applies, in order,
// never concurrently. The first call a publisher sees carries the whole
// image as a delta from the empty image; each later delta is based on the
// image of the call before (delta.Base() == previous img). Publish must not
// call back into the source (it may run under the source's locks) and
// should return quickly: the source applies nothing while it runs.
type Publisher interface {
	Publish(delta *Delta, img *Image)
}
