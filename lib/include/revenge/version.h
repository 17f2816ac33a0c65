/* revenge/version.h - which librevenge this is. */
#ifndef REVENGE_VERSION_H
#define REVENGE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0": static storage, never NULL. */
const char *rv_version(void);

/* The git commit the library was built from (12 hex digits), or "" when
 * it was built outside a git checkout (a release tarball): static
 * storage, never NULL. */
const char *rv_version_commit(void);

#ifdef __cplusplus
}
#endif

#endif
