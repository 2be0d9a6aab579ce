#include "server/grpc_transport.h"

#include <chrono>
#include <string>
#include <utility>

#include "server/session_endpoint.h"

namespace mp::server {
namespace {

class GrpcSessionStream;

// A completion-queue tag: which stream, which operation.
struct Tag {
  enum Kind { kAccept, kRead, kWrite, kFinish };
  GrpcSessionStream* stream;
  Kind kind;
};

// One client's stream, from accept to the last completion. Owns itself:
// deleted when no operation is outstanding any more.
class GrpcSessionStream final : public SessionEndpoint {
 public:
  GrpcSessionStream(ManagerService* service,
                    v1::Manager::AsyncService* grpc_service,
                    grpc::ServerCompletionQueue* cq, std::atomic<int>* live)
      : SessionEndpoint(service, "grpc"),
        grpc_service_(grpc_service),
        cq_(cq),
        live_(live),
        stream_(&context_) {
    live_->fetch_add(1);
    grpc_service_->RequestSession(&context_, &stream_, cq_, cq_, &accept_tag_);
  }

  ~GrpcSessionStream() override { live_->fetch_sub(1); }

  // Runs on the worker of this stream's queue.
  void Proceed(Tag::Kind kind, bool ok) {
    switch (kind) {
      case Tag::kAccept:
        if (!ok) {  // the server is shutting down
          delete this;
          return;
        }
        // Keep accepting.
        new GrpcSessionStream(service(), grpc_service_, cq_, live_);
        accepted_ = true;
        Accepted(context_.peer());
        break;
      case Tag::kRead:
        OnRead(ok);
        break;
      case Tag::kWrite:
        OnWriteDone(ok);
        break;
      case Tag::kFinish:
        OnFinishDone();
        break;
    }
    if (accepted_ && Quiescent()) delete this;
  }

 private:
  void StartRead() override { stream_.Read(&in(), &read_tag_); }

  bool StartWrite(const v1::ServerMessage& message) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // gRPC keeps a pointer to the message until the write completes: the
    // endpoint keeps it alive until OnWriteDone.
    stream_.Write(message, &write_tag_);
    return false;
  }

  bool StartFinish(const absl::Status& status) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    stream_.Finish(grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                std::string(status.message())),
                   &finish_tag_);
    return false;
  }

  void Abort() override { context_.TryCancel(); }

  v1::Manager::AsyncService* const grpc_service_;
  grpc::ServerCompletionQueue* const cq_;
  std::atomic<int>* const live_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReaderWriter<v1::ServerMessage, v1::ClientMessage> stream_;
  Tag accept_tag_{this, Tag::kAccept};
  Tag read_tag_{this, Tag::kRead};
  Tag write_tag_{this, Tag::kWrite};
  Tag finish_tag_{this, Tag::kFinish};
  bool accepted_ = false;
};

}  // namespace

GrpcSessionWorkers::GrpcSessionWorkers(ManagerService* service,
                                       grpc::ServerBuilder& builder,
                                       int threads)
    : service_(service) {
  builder.RegisterService(&grpc_service_);
  for (int i = 0; i < threads; ++i) {
    queues_.push_back(builder.AddCompletionQueue());
  }
}

GrpcSessionWorkers::~GrpcSessionWorkers() { Stop(); }

void GrpcSessionWorkers::Start() {
  for (auto& cq : queues_) {
    new GrpcSessionStream(service_, &grpc_service_, cq.get(), &live_streams_);
    threads_.emplace_back([this, q = cq.get()] { Run(q); });
  }
}

void GrpcSessionWorkers::Stop() {
  if (threads_.empty()) return;
  // The server has shut down, so every stream is ending; its last
  // operations (Finish above all) still need the queues. Shutting a queue
  // down under a stream that is about to start one aborts the process
  // (gRPC asserts; measured under load), so wait for the streams first -
  // boundedly, in case one never completes.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (live_streams_.load() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (auto& cq : queues_) cq->Shutdown();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void GrpcSessionWorkers::Run(grpc::ServerCompletionQueue* cq) {
  void* raw;
  bool ok;
  while (cq->Next(&raw, &ok)) {
    Tag* tag = static_cast<Tag*>(raw);
    tag->stream->Proceed(tag->kind, ok);
  }
}

}  // namespace mp::server
