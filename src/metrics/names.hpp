// Every metric name, in one place. All are prefixed smtp_blackhole_.
#pragma once
#include <string_view>

namespace metrics::names {
inline constexpr std::string_view flow_messages = "smtp_blackhole_flow_messages_total";
inline constexpr std::string_view flow_recipients = "smtp_blackhole_flow_recipients_total";
inline constexpr std::string_view flow_bytes = "smtp_blackhole_flow_bytes_total";
inline constexpr std::string_view flow_refused = "smtp_blackhole_flow_refused_total";
inline constexpr std::string_view connections = "smtp_blackhole_connections_total";
inline constexpr std::string_view connections_active = "smtp_blackhole_connections_active";
inline constexpr std::string_view connections_refused = "smtp_blackhole_connections_refused_total";
inline constexpr std::string_view transactions = "smtp_blackhole_transactions_total";
inline constexpr std::string_view replies = "smtp_blackhole_replies_total";
inline constexpr std::string_view tls_handshakes = "smtp_blackhole_tls_handshakes_total";
inline constexpr std::string_view tls_failed = "smtp_blackhole_tls_failed_total";
inline constexpr std::string_view tls_resumed = "smtp_blackhole_tls_resumed_total";
inline constexpr std::string_view starttls_plaintext_dropped = "smtp_blackhole_starttls_plaintext_dropped_bytes_total";
inline constexpr std::string_view proxy_rejected = "smtp_blackhole_proxy_rejected_total";
inline constexpr std::string_view capture_messages = "smtp_blackhole_capture_messages";
inline constexpr std::string_view capture_bytes = "smtp_blackhole_capture_bytes";
inline constexpr std::string_view capture_evicted = "smtp_blackhole_capture_evicted_total";
inline constexpr std::string_view capture_in_flight_bytes = "smtp_blackhole_capture_in_flight_bytes";
inline constexpr std::string_view capture_cut = "smtp_blackhole_capture_cut_total";
inline constexpr std::string_view flows_tracked = "smtp_blackhole_flows_tracked";
inline constexpr std::string_view flows_overflow = "smtp_blackhole_flows_overflow_total";
inline constexpr std::string_view smuggling_suspects = "smtp_blackhole_smuggling_suspects_total";
inline constexpr std::string_view faults_injected = "smtp_blackhole_faults_injected_total";
inline constexpr std::string_view build_info = "smtp_blackhole_build_info";
}  // namespace metrics::names
