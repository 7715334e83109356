#include "options.hpp"

#include <algorithm>
#include <cctype>

#include "cnn/arch/presets.hpp"

namespace cnn::cli {

namespace {

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::size_t edit_distance(const std::string& a_text, const std::string& b_text) {
  const std::string a = lower_case(a_text), b = lower_case(b_text);
  const std::size_t rows = a.size() + 1, cols = b.size() + 1;
  std::vector<std::size_t> d(rows * cols);
  for (std::size_t i = 0; i < rows; ++i) d[i * cols] = i;
  for (std::size_t j = 0; j < cols; ++j) d[j] = j;
  for (std::size_t i = 1; i < rows; ++i) {
    for (std::size_t j = 1; j < cols; ++j) {
      const std::size_t substitution = a[i - 1] == b[j - 1] ? 0 : 1;
      std::size_t best = std::min({d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1,
                                   d[(i - 1) * cols + j - 1] + substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, d[(i - 2) * cols + j - 2] + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d.back();
}

std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates) {
  // Flags are compared without their dashes, so that "--sead" is as near "--seed" as "sead" is
  // to "seed", and the allowance depends on the word's own length.
  const auto bare = [](const std::string& text) {
    return text.substr(std::min(text.find_first_not_of('-'), text.size()));
  };
  const std::string word_bare = bare(word);
  const std::size_t allowed = word_bare.size() <= 5 ? 1 : 2;
  std::string nearest;
  std::size_t nearest_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(word_bare, bare(candidate));
    if (distance < nearest_distance) {
      nearest = candidate;
      nearest_distance = distance;
    }
  }
  return nearest;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string nearest = nearest_name(word, candidates);
  return nearest.empty() ? std::string{} : "; did you mean " + nearest + "?";
}

CLI::Validator one_of(const std::vector<std::string>& names) {
  return CLI::Validator(
      [names](std::string& text) -> std::string {
        for (const std::string& name : names) {
          if (lower_case(name) == lower_case(text)) {
            text = name;
            return {};
          }
        }
        std::string list;
        for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
        return "must be one of " + list + ", got '" + text + "'" + did_you_mean(text, names);
      },
      "");
}

namespace {

// CLI11's type name is the value's type ("UINT", "FLOAT", "TEXT" or one set with type_name())
// followed by each validator's description, separated by ':'.
std::pair<std::string, std::string> split_type_name(const CLI::Option* option) {
  const std::string full = option->get_type_name();
  const std::size_t colon = full.find(':');
  std::string type = full.substr(0, colon), checks;
  if (colon != std::string::npos) {
    checks = full.substr(colon + 1);
    std::replace(checks.begin(), checks.end(), ':', ',');
  }
  if (type == "UINT" || type == "INT") type = "N";
  if (type == "FLOAT") type = "X";
  return {type, checks};
}

}  // namespace

std::string HelpFormatter::allowed_values(const CLI::Option* option) {
  return split_type_name(option).second;
}

std::string HelpFormatter::make_option_opts(const CLI::Option* option) const {
  if (option->get_positional() || option->get_type_size() == 0) return {};
  return " " + split_type_name(option).first;
}

std::string HelpFormatter::make_option_desc(const CLI::Option* option) const {
  std::vector<std::string> notes;
  if (option->get_type_size() != 0) {
    const std::string checks = split_type_name(option).second;
    if (!checks.empty()) notes.push_back(checks);
    if (!option->get_default_str().empty()) notes.push_back("default " + option->get_default_str());
    if (option->get_required()) notes.push_back("required");
  }
  // CLI11 keeps the excluded options in a set of pointers, whose order is the heap's: sorted by
  // name, the help text is the same in every build.
  std::vector<std::string> excluded;
  for (const CLI::Option* other : option->get_excludes()) excluded.push_back(other->get_name());
  std::sort(excluded.begin(), excluded.end());
  std::string excludes;
  for (const std::string& name : excluded) {
    excludes += (excludes.empty() ? "not with " : ", ") + name;
  }
  if (!excludes.empty()) notes.push_back(excludes);
  std::string text = option->get_description();
  if (notes.empty()) return text;
  // A description that ends in brackets of its own gets the notes inside them.
  const bool own_brackets = !text.empty() && text.back() == ')';
  if (own_brackets) text.pop_back();
  for (std::size_t i = 0; i < notes.size(); ++i) {
    text += (i > 0 ? ", " : own_brackets ? "; " : " (") + notes[i];
  }
  return text + ")";
}

CLI::Option* add_preset_option(CLI::App& cmd, std::string& preset) {
  std::string presets;
  for (const auto& name : preset_names()) presets += (presets.empty() ? "" : ", ") + name;
  return cmd.add_option("--preset", preset, "Network architecture: " + presets)
      ->transform(one_of(preset_names()))
      ->type_name("NAME")
      ->capture_default_str();
}

}  // namespace cnn::cli
