// The Mailpit-compatible API (--mailpit-listen): the part of Mailpit's v1 REST API that test suites use, with
// Mailpit's paths, JSON field names and shapes, over the same capture ring as the main API. Message IDs are the
// ring's numeric ids as strings. An endpoint is a row in routes(); Mailpit endpoints not implemented here have
// rows too, and answer 501 with a JSON {"Error"} naming them. The mapping is documented in the README. Every
// request is answered on this API's own thread (it reads messages with GMime), never on a worker serving SMTP.
// Mailpit's chaos triggers (GET/PUT /api/v1/chaos) are rules in the fault table that this API owns.
#pragma once
#include <array>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <span>

#include "fault/table.hpp"
#include "http/mailpit_search.hpp"
#include "http/mailpit_store.hpp"
#include "http/rejection.hpp"
#include "http/routes.hpp"
#include "http/service.hpp"
#include "sink/sink.hpp"

namespace http {

class mailpit_api final : public service {
public:
    mailpit_api(sink::hub& h, fault::table& faults, const lifecycle& life);
    void handle(const request& req, const boost::asio::any_io_executor& ex, responder done) override;
    std::uint64_t body_limit() const noexcept override { return mailpit_body_limit; }

private:
    struct call;  // one request on its way to its handler
    using handler = void (mailpit_api::*)(call&);
    using message_ptr = mailpit::store::message_ptr;
    static std::span<const route<handler>> routes();

    void get_live(call& c);
    void get_ready(call& c);
    void get_info(call& c);
    void get_messages(call& c);
    void delete_messages(call& c);
    void search(call& c);
    void delete_search(call& c);
    void get_message(call& c);
    void get_headers(call& c);
    void get_raw(call& c);
    void get_part(call& c);
    void get_view(call& c);
    void get_chaos(call& c);
    void put_chaos(call& c);
    void not_implemented(call& c);
    // Finds `req`'s route and calls its handler, on the inspection thread; `done` is called there.
    void dispatch(const request& req, responder done);

    // The message an {ID} names: its number, or "latest" (the newest, or the newest that matches ?query=).
    message_ptr resolve(const call& c, std::string_view id);
    // The search ?query= asks for; nothing when the request is answered already (400 no query, 501 a filter).
    std::optional<mailpit::search_query> search_of(call& c);
    // The messages that match `q`, newest first.
    std::vector<message_ptr> matching(const mailpit::search_query& q, const std::vector<message_ptr>& all);
    // A page of summaries with the mailbox's counts (GET /api/v1/messages and /api/v1/search).
    void answer_page(call& c, const std::vector<message_ptr>& all, const std::vector<message_ptr>& matched);

    // One of Mailpit's chaos triggers (Sender, Recipient, Authentication) and the fault rule that carries it (none
    // at probability 0). Read and written only on the inspection thread, as every handler but the probes runs.
    struct chaos_trigger {
        unsigned short code;
        std::int64_t probability = 0;  // percent, 0 to 100
        std::uint64_t rule = 0;        // its id in faults_, 0 when it has none
    };
    // The triggers as GET /api/v1/chaos shows them: one whose rule left the table (DELETE /api/v1/faults) is off.
    boost::json::object chaos_json();

    sink::hub& h_;
    fault::table& faults_;
    const lifecycle& life_;
    std::array<chaos_trigger, 3> chaos_{{{451}, {451}, {535}}};  // Mailpit's defaults: Sender, Recipient, Authentication
    mailpit::store store_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    boost::asio::thread_pool inspection_{1};  // last: joined first, while everything its work uses still exists
};

}  // namespace http
