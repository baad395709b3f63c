#include "bsocial/core/prometheus.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace bsocial {

std::string prometheus_metric(std::string_view name, std::string_view type, std::string_view help,
                              double value) {
    std::ostringstream out;
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ';
    // Counters stay exact integers (the stream's default precision would print 1e+06).
    if (std::floor(value) == value && std::fabs(value) < 9e15)
        out << static_cast<long long>(value);
    else
        out << std::setprecision(9) << value;
    out << '\n';
    return out.str();
}

}  // namespace bsocial
