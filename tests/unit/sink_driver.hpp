// Test helpers for the sink: an envelope as the session would hand it over, and one message fed through a
// connection sink in the session's order of calls (on_header, on_body, on_message).
#pragma once
#include <string>

#include "sink/sink.hpp"

namespace test {

inline smtp::envelope make_env() {
    smtp::envelope env;
    env.set_mail_from("app@example.org");
    env.add_recipient({env.keep("user@example.net"), {}, 0});
    return env;
}

// The end of a message's data: the accepted transaction as on_message receives it.
inline void finish(sink::connection_sink& s, smtp::envelope& env, const std::string& header, std::size_t body_size) {
    smtp::message_info m;
    m.env = &env;
    m.header_section = header;
    m.size = header.size() + body_size;
    s.on_message(m);
}

inline void deliver(sink::connection_sink& s, smtp::envelope& env, const std::string& header, const std::string& body) {
    if (s.on_header(env, header, false)) s.on_body(body);
    finish(s, env, header, body.size());
}

}  // namespace test
