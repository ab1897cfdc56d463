// Reference synchronizer for sensorium's parity tests: feeds ROS's own
// message_filters policies (ApproximateTime, ExactTime) from libmessage-filters-dev.
//
// Usage: approx_ref approx N QUEUE MAX_INTERVAL_NS(-1: unset) AGE_PENALTY [LB0_NS .. LB{N-1}_NS]
//        approx_ref exact  N QUEUE
// stdin: one message per line, "STREAM SEC NSEC" (message id = 0-based line number).
// stdout: one line per matched set, the ids of its messages in stream order.
#include <message_filters/synchronizer.h>
#include <message_filters/sync_policies/approximate_time.h>
#include <message_filters/sync_policies/exact_time.h>
#include <ros/time.h>
#include <ros/message_traits.h>
#include <std_msgs/Header.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace sensorium_ref {
struct Stamped {
  std_msgs::Header header;
  unsigned long id;
  typedef boost::shared_ptr<Stamped const> ConstPtr;
};
}  // namespace sensorium_ref

namespace ros {
namespace message_traits {
template <> struct HasHeader<sensorium_ref::Stamped> : public TrueType {};
template <> struct TimeStamp<sensorium_ref::Stamped> {
  static ros::Time value(const sensorium_ref::Stamped& m) { return m.header.stamp; }
  static ros::Time* pointer(sensorium_ref::Stamped& m) { return &m.header.stamp; }
  static ros::Time const* pointer(const sensorium_ref::Stamped& m) { return &m.header.stamp; }
};
template <> struct DataType<sensorium_ref::Stamped> {
  static const char* value() { return "sensorium_ref/Stamped"; }
  static const char* value(const sensorium_ref::Stamped&) { return value(); }
};
template <> struct MD5Sum<sensorium_ref::Stamped> {
  static const char* value() { return "*"; }
  static const char* value(const sensorium_ref::Stamped&) { return value(); }
};
template <> struct Definition<sensorium_ref::Stamped> {
  static const char* value() { return "Header header\nuint64 id\n"; }
  static const char* value(const sensorium_ref::Stamped&) { return value(); }
};
}  // namespace message_traits
}  // namespace ros

using sensorium_ref::Stamped;
typedef Stamped::ConstPtr P;

static void print_ids(std::initializer_list<P> msgs) {
  bool first = true;
  for (const P& m : msgs) {
    if (!m) continue;  // NullType slots beyond N
    std::printf(first ? "%lu" : " %lu", m->id);
    first = false;
  }
  std::printf("\n");
}

static void cb2(const P& a, const P& b) { print_ids({a, b}); }
static void cb3(const P& a, const P& b, const P& c) { print_ids({a, b, c}); }
static void cb4(const P& a, const P& b, const P& c, const P& d) { print_ids({a, b, c, d}); }

struct Input {
  int stream;
  ros::Time stamp;
};

static std::vector<Input> read_input() {
  std::vector<Input> out;
  long stream;
  unsigned long sec, nsec;
  while (std::cin >> stream >> sec >> nsec) {
    out.push_back(Input{static_cast<int>(stream), ros::Time(static_cast<uint32_t>(sec), static_cast<uint32_t>(nsec))});
  }
  return out;
}

template <int N, class Sync>
static void feed(Sync& sync, const std::vector<Input>& input) {
  for (size_t k = 0; k < input.size(); ++k) {
    boost::shared_ptr<Stamped> m(new Stamped);
    m->header.stamp = input[k].stamp;
    m->id = k;
    P cm = m;
    switch (input[k].stream) {
      case 0: sync.template add<0>(cm); break;
      case 1: sync.template add<1>(cm); break;
      case 2: if constexpr (N > 2) sync.template add<2>(cm); break;
      case 3: if constexpr (N > 3) sync.template add<3>(cm); break;
      default: break;
    }
  }
}

template <class Policy>
static void configure_approx(Policy& p, char** argv, int argc, int n) {
  int64_t max_interval_ns = std::atoll(argv[4]);
  double age_penalty = std::atof(argv[5]);
  if (max_interval_ns >= 0) {  // negative: keep the policy's default (ros::DURATION_MAX)
    p.setMaxIntervalDuration(ros::Duration().fromNSec(max_interval_ns));
  }
  p.setAgePenalty(age_penalty);
  for (int i = 0; i < n && 6 + i < argc; ++i) {
    p.setInterMessageLowerBound(i, ros::Duration().fromNSec(std::atoll(argv[6 + i])));
  }
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: approx_ref approx|exact N QUEUE [MAX_INTERVAL_NS AGE_PENALTY LB..]\n");
    return 2;
  }
  ros::Time::init();
  std::string kind = argv[1];
  int n = std::atoi(argv[2]);
  uint32_t queue = static_cast<uint32_t>(std::atoi(argv[3]));
  std::vector<Input> input = read_input();
  using namespace message_filters;
  using namespace message_filters::sync_policies;
  if (kind == "approx") {
    if (argc < 6) return 2;
    if (n == 2) {
      typedef ApproximateTime<Stamped, Stamped> Pol;
      Pol pol(queue);
      configure_approx(pol, argv, argc, n);
      Synchronizer<Pol> sync(pol);
      sync.registerCallback(&cb2);
      feed<2>(sync, input);
    } else if (n == 3) {
      typedef ApproximateTime<Stamped, Stamped, Stamped> Pol;
      Pol pol(queue);
      configure_approx(pol, argv, argc, n);
      Synchronizer<Pol> sync(pol);
      sync.registerCallback(&cb3);
      feed<3>(sync, input);
    } else if (n == 4) {
      typedef ApproximateTime<Stamped, Stamped, Stamped, Stamped> Pol;
      Pol pol(queue);
      configure_approx(pol, argv, argc, n);
      Synchronizer<Pol> sync(pol);
      sync.registerCallback(&cb4);
      feed<4>(sync, input);
    } else {
      return 2;
    }
  } else if (kind == "exact") {
    if (n == 2) {
      typedef ExactTime<Stamped, Stamped> Pol;
      Pol pol(queue);
      Synchronizer<Pol> sync(pol);
      sync.registerCallback(&cb2);
      feed<2>(sync, input);
    } else if (n == 3) {
      typedef ExactTime<Stamped, Stamped, Stamped> Pol;
      Pol pol(queue);
      Synchronizer<Pol> sync(pol);
      sync.registerCallback(&cb3);
      feed<3>(sync, input);
    } else {
      return 2;
    }
  } else {
    return 2;
  }
  std::fflush(stdout);
  return 0;
}
