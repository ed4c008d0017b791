// Entry point of the native unit tests (doctest, Debian doctest-dev). Test files sit beside
// this one, one per core file they cover: wire_*.cc, table_*.cc, conntrack_*.cc, ...
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#define DOCTEST_CONFIG_NO_EXCEPTIONS_BUT_WITH_ALL_ASSERTS
#include <doctest/doctest.h>
