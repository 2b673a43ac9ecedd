// Package ghactions is vulntune's GitHub Actions client: it lists the
// workflow runs of a repository (repo-wide or per workflow, filtered and
// paginated), lists a run's artifacts and downloads an artifact's zip into
// memory. It is the only package besides hub that talks to the network.
//
// Requests are conditional where GitHub allows it (ETag / If-None-Match: a
// 304 does not count against the rate limit, so an idle poll is one free
// request), primary and secondary rate limits are waited out with bounded
// waits on an injected clock, and the token travels only to the API's own
// origin: the artifact download's 302 to blob storage is followed by a
// separate request that carries no Authorization header at all.
//
// The token needs read access to Actions and nothing else: a fine-grained
// token with the repository permission "Actions: Read-only" (GitHub adds
// "Metadata: Read-only"), or for a classic token `repo` on private
// repositories and no scope at all on public ones.
//
// The routes and models are those of google/go-github; this package adds
// what go-github leaves to its caller (conditional requests, rate-limit
// waits on an injectable clock, the origin-bound token, capped in-memory
// downloads) and trims GitHub's models to the fields vulntune reads.
package ghactions
