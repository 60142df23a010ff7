#include "core/contrastive_losses.h"

#include <stdexcept>
#include <string>

namespace pic {
namespace {

namespace F = torch::nn::functional;

[[noreturn]] void bad_argument(const char* function, const char* argument,
                               const torch::Tensor& tensor, const std::string& expected) {
  throw std::invalid_argument(std::string(function) + ": " + argument + " has shape " +
                              c10::str(tensor.sizes(), " ", tensor.scalar_type()) + "; expected " +
                              expected);
}

// A floating-point matrix [rows, cols]; -1 accepts any size in that dimension.
void require_matrix(const char* function, const char* argument, const torch::Tensor& tensor,
                    int64_t rows, int64_t cols) {
  const std::string expected = "a floating-point [" +
                               (rows < 0 ? std::string("*") : std::to_string(rows)) + ", " +
                               (cols < 0 ? std::string("*") : std::to_string(cols)) + "]";
  if (!tensor.defined()) {
    throw std::invalid_argument(std::string(function) + ": " + argument + " is undefined");
  }
  if (tensor.dim() != 2 || !tensor.is_floating_point() || (rows >= 0 && tensor.size(0) != rows) ||
      (cols >= 0 && tensor.size(1) != cols)) {
    bad_argument(function, argument, tensor, expected);
  }
}

void require_ids(const char* function, const char* argument, const torch::Tensor& tensor,
                 int64_t dims, int64_t rows, int64_t cols, int64_t bound) {
  if (!tensor.defined()) {
    throw std::invalid_argument(std::string(function) + ": " + argument + " is undefined");
  }
  const std::string expected =
      std::string("int64 ") + (dims == 1 ? "[" + std::to_string(rows) + "]"
                                         : "[" + std::to_string(rows) + ", " +
                                               (cols < 0 ? "*" : std::to_string(cols)) + "]");
  if (tensor.dim() != dims || tensor.scalar_type() != torch::kLong || tensor.size(0) != rows ||
      (dims == 2 && cols >= 0 && tensor.size(1) != cols)) {
    bad_argument(function, argument, tensor, expected);
  }
  if (tensor.numel() > 0 &&
      (tensor.min().item<int64_t>() < 0 || tensor.max().item<int64_t>() >= bound)) {
    throw std::invalid_argument(std::string(function) + ": " + argument +
                                " holds a row outside [0, " + std::to_string(bound) + ")");
  }
}

void require_temperature(const char* function, double temperature) {
  if (!(temperature > 0)) {
    throw std::invalid_argument(std::string(function) + ": temperature must be > 0, got " +
                                std::to_string(temperature));
  }
}

}  // namespace

torch::Tensor l2_normalize(const torch::Tensor& x, int64_t dim) {
  return F::normalize(x, F::NormalizeFuncOptions().p(2).dim(dim));
}

MethodOutput moco_loss(const torch::Tensor& query, const torch::Tensor& key,
                       const torch::Tensor& queue, double temperature) {
  require_matrix("moco_loss", "query", query, -1, -1);
  require_matrix("moco_loss", "key", key, query.size(0), query.size(1));
  require_matrix("moco_loss", "queue", queue, query.size(1), -1);
  require_temperature("moco_loss", temperature);

  const torch::Tensor q = l2_normalize(query);          // [B, D]
  const torch::Tensor k = l2_normalize(key.detach());   // [B, D]
  const torch::Tensor positive = (q * k).sum(1, true);  // [B, 1]
  const torch::Tensor negative = q.mm(queue.detach());  // [B, K]
  MethodOutput out;
  out.logits = torch::cat({positive, negative}, 1) / temperature;  // [B, 1 + K]
  out.labels = torch::zeros({query.size(0)}, torch::dtype(torch::kLong).device(query.device()));
  out.loss = F::cross_entropy(out.logits, out.labels);
  return out;
}

int64_t enqueue_keys(const torch::Tensor& queue, const torch::Tensor& keys, int64_t pointer) {
  require_matrix("enqueue_keys", "queue", queue, -1, -1);
  require_matrix("enqueue_keys", "keys", keys, -1, queue.size(0));
  const int64_t num_keys = keys.size(0);
  const int64_t queue_size = queue.size(1);
  if (num_keys == 0 || num_keys > queue_size) {
    bad_argument("enqueue_keys", "keys", keys,
                 "1 to " + std::to_string(queue_size) + " rows (the queue length)");
  }
  if (pointer < 0 || pointer >= queue_size) {
    throw std::invalid_argument("enqueue_keys: pointer " + std::to_string(pointer) +
                                " outside [0, " + std::to_string(queue_size) + ")");
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor columns =
      torch::arange(pointer, pointer + num_keys, torch::dtype(torch::kLong).device(queue.device()))
          .remainder(queue_size);
  queue.index_copy_(1, columns, keys.detach().t().to(queue.dtype()));
  return (pointer + num_keys) % queue_size;
}

MethodOutput simclr_loss(const torch::Tensor& local_f1, const torch::Tensor& local_f2,
                         const torch::Tensor& all_f1, const torch::Tensor& all_f2,
                         int64_t row_offset, double temperature) {
  require_matrix("simclr_loss", "all_f1", all_f1, -1, -1);
  require_matrix("simclr_loss", "all_f2", all_f2, all_f1.size(0), all_f1.size(1));
  require_matrix("simclr_loss", "local_f1", local_f1, -1, all_f1.size(1));
  require_matrix("simclr_loss", "local_f2", local_f2, local_f1.size(0), all_f1.size(1));
  require_temperature("simclr_loss", temperature);
  const int64_t rows = local_f1.size(0);
  const int64_t total = all_f1.size(0);
  if (row_offset < 0 || row_offset + rows > total) {
    throw std::invalid_argument("simclr_loss: row_offset " + std::to_string(row_offset) + " with " +
                                std::to_string(rows) + " local rows does not fit in the " +
                                std::to_string(total) + " gathered rows");
  }

  const torch::Tensor l1 = l2_normalize(local_f1);  // [b, D]
  const torch::Tensor l2 = l2_normalize(local_f2);
  // [N, D], detached: the original gathers the columns with all_gather, which passes no
  // gradient, so only a rank's own rows are trained (heads.h5's gradients confirm it).
  const torch::Tensor a1 = l2_normalize(all_f1.detach());
  const torch::Tensor a2 = l2_normalize(all_f2.detach());

  const auto long_options = torch::dtype(torch::kLong).device(local_f1.device());
  const torch::Tensor own_columns = torch::arange(row_offset, row_offset + rows, long_options);
  // [b, N]: kSimclrSelfMask at each row's own column, subtracted after the temperature.
  const torch::Tensor self_mask =
      F::one_hot(own_columns, total).to(local_f1.dtype()) * kSimclrSelfMask;

  const torch::Tensor logits_ab = l1.mm(a2.t()) / temperature;
  const torch::Tensor logits_aa = l1.mm(a1.t()) / temperature - self_mask;
  const torch::Tensor logits_ba = l2.mm(a1.t()) / temperature;
  const torch::Tensor logits_bb = l2.mm(a2.t()) / temperature - self_mask;

  MethodOutput out;
  out.logits =
      torch::cat({torch::cat({logits_ab, logits_aa}, 1), torch::cat({logits_ba, logits_bb}, 1)},
                 0);                                       // [2b, 2N]
  out.labels = torch::cat({own_columns, own_columns}, 0);  // [2b]
  out.loss = F::cross_entropy(out.logits, out.labels);
  return out;
}

MethodOutput instdisc_loss(const torch::Tensor& features, const torch::Tensor& memory_bank,
                           const torch::Tensor& instance_ids, const torch::Tensor& sample_idx,
                           double temperature) {
  require_matrix("instdisc_loss", "features", features, -1, -1);
  require_matrix("instdisc_loss", "memory_bank", memory_bank, -1, features.size(1));
  const int64_t batch = features.size(0);
  const int64_t bank_rows = memory_bank.size(0);
  require_ids("instdisc_loss", "instance_ids", instance_ids, 1, batch, -1, bank_rows);
  require_ids("instdisc_loss", "sample_idx", sample_idx, 2, batch, -1, bank_rows);
  require_temperature("instdisc_loss", temperature);
  if (sample_idx.size(1) < 1 || !sample_idx.select(1, 0).equal(instance_ids)) {
    throw std::invalid_argument(
        "instdisc_loss: sample_idx column 0 must hold the positives (instance_ids)");
  }

  const int64_t columns = sample_idx.size(1);
  const torch::Tensor x = l2_normalize(features);  // [B, D]
  // [B, 1 + K, D]: the bank rows each image is compared with; the bank takes no gradient.
  const torch::Tensor samples = memory_bank.detach()
                                    .index_select(0, sample_idx.reshape({-1}))
                                    .view({batch, columns, features.size(1)});
  MethodOutput out;
  out.logits = samples.bmm(x.unsqueeze(2)).squeeze(2) / temperature;  // [B, 1 + K]
  out.labels = torch::zeros({batch}, torch::dtype(torch::kLong).device(features.device()));
  out.loss = F::cross_entropy(out.logits, out.labels);
  return out;
}

void update_memory_bank(const torch::Tensor& memory_bank, const torch::Tensor& features,
                        const torch::Tensor& instance_ids, double momentum) {
  require_matrix("update_memory_bank", "memory_bank", memory_bank, -1, -1);
  require_matrix("update_memory_bank", "features", features, -1, memory_bank.size(1));
  require_ids("update_memory_bank", "instance_ids", instance_ids, 1, features.size(0), -1,
              memory_bank.size(0));
  if (!(momentum >= 0 && momentum <= 1)) {
    throw std::invalid_argument("update_memory_bank: momentum must be in [0, 1], got " +
                                std::to_string(momentum));
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor fresh = l2_normalize(features.detach()).to(memory_bank.dtype());
  const torch::Tensor mixed =
      memory_bank.index_select(0, instance_ids) * momentum + fresh * (1 - momentum);
  memory_bank.index_copy_(0, instance_ids, l2_normalize(mixed));
}

}  // namespace pic
