// Boost.JSON and Boost.URL, compiled once for the daemon (http/) and the load generator: Boost 1.81 ships both
// as headers whose sources are included in exactly one translation unit, so no Boost library is linked.
// Nothing of this project lives here.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
