#include "data/chat/jinja.h"

#include "data/chat/jinja_eval.h"
#include "data/chat/jinja_lexer.h"
#include "data/chat/jinja_parser.h"

namespace fw::data {

JinjaTemplate JinjaTemplate::parse(const std::string& source, std::string name, const JinjaLimits& limits) {
  auto program = std::make_shared<jinja::Program>();
  program->name = std::move(name);
  program->body = jinja::parse(jinja::tokenize(source, program->name), program->name, limits.max_nesting);
  JinjaTemplate t;
  t.program_ = std::move(program);
  return t;
}

JinjaRenderResult JinjaTemplate::render(const nlohmann::ordered_json& context, const JinjaLimits& limits) const {
  jinja::Renderer renderer(*program_, limits);
  return renderer.render(context);
}

JinjaRenderResult JinjaTemplate::render_variables(jinja::Variables context, const JinjaLimits& limits) const {
  jinja::Renderer renderer(*program_, limits);
  return renderer.render(std::move(context));
}

const std::string& JinjaTemplate::name() const { return program_->name; }

}  // namespace fw::data
