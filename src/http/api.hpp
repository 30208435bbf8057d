// The HTTP API (JSON), /metrics, /healthz, /livez, /readyz and the sample viewer page: the route table and its handlers, and the
// long-poll waiters of GET /api/v1/flows/{flow}/wait, which are woken by the flow table when a message is counted
// (no polling). An endpoint is a row in routes() and its handler. Reading messages with GMime (the message list,
// search, a message, a part) runs on the api's own inspection thread, never on a worker that serves SMTP.
#pragma once
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "fault/table.hpp"
#include "http/rejection.hpp"
#include "http/routes.hpp"
#include "http/service.hpp"
#include "metrics/collector.hpp"
#include "sink/sink.hpp"

namespace http {

class api final : public service {
public:
    api(sink::hub& h, fault::table& faults, const metrics::exposition& m, std::string_view page,
        const lifecycle& life);
    ~api() override;
    // Answers `req` by calling `done` once: at once, or later on `ex` (wait).
    void handle(const request& req, const boost::asio::any_io_executor& ex, responder done) override;
    std::uint64_t body_limit() const noexcept override { return api_body_limit; }
    // Answers every pending wait as it stands (shutdown).
    void cancel_waits();

private:
    struct call;  // one request on its way to its handler
    using handler = void (api::*)(call&);
    static std::span<const route<handler>> routes();

    void get_page(call& c);
    void get_health(call& c);
    void get_ready(call& c);
    void get_metrics(call& c);
    void get_flows(call& c);
    void delete_flows(call& c);
    void get_flow(call& c);
    void delete_flow(call& c);
    void wait_flow(call& c);
    void get_messages(call& c);
    void delete_messages(call& c);
    void get_message(call& c);
    void get_raw(call& c);
    void get_part(call& c);
    void get_faults(call& c);
    void post_faults(call& c);
    void delete_faults(call& c);
    void delete_fault(call& c);

    // Makes the answer with `work` on the inspection thread and gives it to `c.done` on the request's executor.
    void inspect_off_thread(call& c, std::function<response(const request& head)> work);

    struct waiter;
    void wait(const std::string& flow, std::uint64_t n, std::chrono::milliseconds timeout, unsigned version,
              const boost::asio::any_io_executor& ex, responder done);
    void wake(const std::shared_ptr<waiter>& w);
    void finish(const std::shared_ptr<waiter>& w, bool reached);

    sink::hub& h_;
    fault::table& faults_;
    const metrics::exposition& m_;
    const std::string_view page_;
    const lifecycle& life_;
    std::mutex waiters_mutex_;
    std::vector<std::shared_ptr<waiter>> waiters_;
    boost::asio::thread_pool inspection_{1};  // last: joined first, while everything its work uses still exists
};

}  // namespace http
