# Reference fits of glm(binomial) with every link, a weighted 0/1 fit, and a proportion
# outcome with weights = number of trials (lme4's cbpp herd data, pooled over periods).
# glm.control(epsilon = 1e-14): the default 1e-8 deviance criterion leaves ~1e-5 relative
# error in the estimates for non-canonical links.
suppressPackageStartupMessages(library(lme4))
source("../ordinal/_common.R")
d <- read.csv("../ordinal/survey_sim.csv")
d$region <- factor(d$region); d$bloc <- factor(d$bloc); d$area <- factor(d$area)
for (lk in c("logit", "probit", "cloglog", "cauchit")) {
  m <- glm(z ~ x1 + x2 + bloc + area, family = binomial(link = lk), data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
  write_json(dump_fit(coef(m), sqrt(diag(vcov(m))), as.numeric(logLik(m))),
             paste0("glm_", lk, ".json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}
# loglog is not a stats::binomial link; it equals a cloglog model of the complementary event
m <- glm(I(1 - z) ~ x1 + x2 + bloc + area, family = binomial(link = "cloglog"), data = d,
         control = glm.control(epsilon = 1e-14, maxit = 100))
write_json(dump_fit(-coef(m), sqrt(diag(vcov(m))), as.numeric(logLik(m)),
                    list(note = "glm of 1 - z with cloglog link, coefficients negated")),
           "glm_loglog.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
m <- glm(z ~ x1 + x2 + bloc + area, family = quasibinomial(), weights = weight, data = d)
mb <- glm(z ~ x1 + x2 + bloc + area, family = binomial(), weights = round(weight * 4), data = d)
write_json(dump_fit(coef(mb), sqrt(diag(vcov(mb))), as.numeric(logLik(mb)),
                    list(note = "integer case weights round(weight * 4)")),
           "glm_weighted.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
data(cbpp, package = "lme4")
cbpp$prop <- cbpp$incidence / cbpp$size
write.csv(cbpp[, c("herd", "period", "incidence", "size", "prop")], "cbpp.csv", row.names = FALSE)
m <- glm(prop ~ period, family = binomial, weights = size, data = cbpp)
write_json(dump_fit(coef(m), sqrt(diag(vcov(m))), as.numeric(logLik(m))),
           "glm_cbpp_proportion.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
