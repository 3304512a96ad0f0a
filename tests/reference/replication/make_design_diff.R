# Reference for civmodels.replication._methods._design_diff: the weighted difference of a
# domain proportion between two groups, with its Taylor-linearisation SE, under a one-stage
# cluster design (PSU = municipality), as R survey computes it.
# Run from the repository root: Rscript tests/reference/replication/make_design_diff.R
library(survey)
here <- "tests/reference/replication"
d <- read.csv(file.path(here, "design_diff_data.csv"))
full <- svydesign(ids = ~municipality_code, weights = ~w, data = d)
# rows without an answer leave the domain but keep their PSU (domain estimation)
des <- subset(full, !is.na(event))
by <- svyby(~event, ~group, des, svymean, covmat = TRUE)
ct <- svycontrast(by, c(-1, 1))  # group 1 minus group 0
out <- data.frame(
  quantity = c("p0", "p1", "diff", "se_diff", "degf"),
  value = c(coef(by)[1], coef(by)[2], coef(ct)[1], SE(ct)[1], degf(des))
)
out$r_version <- R.version.string
out$survey_version <- as.character(packageVersion("survey"))
write.csv(out, file.path(here, "design_diff_expected.csv"), row.names = FALSE)
