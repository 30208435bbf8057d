// One load generator thread. See worker.hpp.
#include "worker.hpp"

namespace loadgen {

worker::worker(const run_context& rc, unsigned index, unsigned first_connection, unsigned connections,
               std::uint64_t quota)
    : rc_(rc), index_(index), quota_(quota), watchdog_(io_), rate_timer_(io_), stop_timer_(io_) {
    stats_.accepted_by_flow.assign(rc.txns.size(), 0);
    for (unsigned i = 0; i < connections; ++i)
        conns_.push_back(std::make_unique<connection>(*this, rc.endpoints[(first_connection + i) % rc.endpoints.size()]));
    if (rc.p.rate > 0)
        interval_ = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(rc.p.threads / rc.p.rate));
}

void worker::run() {
    live_ = static_cast<unsigned>(conns_.size());
    // Threads start their token buckets a little apart, so their messages interleave evenly.
    next_due_ = rc_.start + interval_ * index_ / std::max(1u, rc_.p.threads);
    if (live_ == 0) return;
    for (auto& c : conns_) c->start();
    watchdog();
    if (rc_.p.duration.count() > 0) {
        stop_timer_.expires_at(rc_.start + rc_.p.duration);
        stop_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) stop();
        });
    }
    io_.run();
}

bool worker::wants_more() const noexcept { return !stopping_ && (started_ < quota_ || !retries_.empty()); }

// The next message: one to send again first, else a new one.
bool worker::take(std::size_t& flow, unsigned& attempt) {
    if (stopping_) return false;
    if (!retries_.empty()) {
        flow = retries_.front().flow;
        attempt = retries_.front().attempt;
        retries_.pop_front();
        return true;
    }
    if (started_ >= quota_) return false;
    flow = static_cast<std::size_t>((index_ + started_ * rc_.p.threads) % rc_.txns.size());
    attempt = 0;
    ++started_;
    return true;
}

bool worker::take_now(std::size_t& flow, unsigned& attempt) { return interval_.count() == 0 && take(flow, attempt); }

bool worker::retry(std::size_t flow, unsigned attempt) {
    if (stopping_) return false;
    retries_.push_back({flow, attempt});
    return true;
}

void worker::idle(connection& c) {
    std::size_t flow = 0;
    unsigned attempt = 0;
    if (interval_.count() == 0) {  // closed loop: the next message at once
        if (take(flow, attempt)) return c.begin_transaction(flow, attempt);
        return c.quit();
    }
    if (!wants_more()) return c.quit();
    if (waiting_.empty() && clock::now() >= next_due_ && take(flow, attempt)) {
        next_due_ += interval_;
        return c.begin_transaction(flow, attempt);
    }
    waiting_.push_back(&c);
    arm_rate();
}

// --rate: each due message goes to the connection that has waited longest.
void worker::rate_tick() {
    rate_armed_ = false;
    auto now = clock::now();
    std::size_t flow = 0;
    unsigned attempt = 0;
    while (!waiting_.empty() && now >= next_due_) {
        connection* c = waiting_.front();
        waiting_.pop_front();
        if (!take(flow, attempt)) {
            c->quit();
            continue;
        }
        next_due_ += interval_;
        c->begin_transaction(flow, attempt);
    }
    if (!wants_more()) {
        while (!waiting_.empty()) {
            connection* c = waiting_.front();
            waiting_.pop_front();
            c->quit();
        }
    }
    arm_rate();
}

void worker::arm_rate() {
    if (rate_armed_ || waiting_.empty()) return;
    rate_armed_ = true;
    rate_timer_.expires_at(next_due_);
    rate_timer_.async_wait([this](const boost::system::error_code& ec) {
        rate_armed_ = false;
        if (!ec) rate_tick();
    });
}

void worker::watchdog() {
    watchdog_.expires_after(watchdog_period);
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || live_ == 0) return;
        auto now = clock::now();
        for (auto& c : conns_) c->check_deadline(now);
        watchdog();
    });
}

// --duration reached: no new messages; transactions in flight get stop_grace to finish.
void worker::stop() {
    stopping_ = true;
    drop_retries();
    while (!waiting_.empty()) {
        connection* c = waiting_.front();
        waiting_.pop_front();
        c->quit();
    }
    stop_timer_.expires_after(stop_grace);
    stop_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) hard_stop();
    });
}

void worker::hard_stop() {
    for (auto& c : conns_) c->abort();
}

void worker::forget(connection& c) {
    if (!waiting_.empty()) std::erase(waiting_, &c);
}

void worker::reconnect_later(connection& c) {
    auto t = std::make_shared<boost::asio::steady_timer>(io_, reconnect_delay);
    t->async_wait([this, t, &c](const boost::system::error_code&) {
        if (wants_more())
            c.start();
        else
            c.finish();
    });
}

// Messages queued to be sent again that no connection will carry are lost.
void worker::drop_retries() {
    stats_.lost.add(retries_.size());
    retries_.clear();
}

void worker::connection_done() {
    if (--live_ > 0) return;
    drop_retries();
    watchdog_.cancel();
    rate_timer_.cancel();
    stop_timer_.cancel();
}

}  // namespace loadgen
